"""What a partnership may see of a window, found once for the partnerships that see the same.

:meth:`hub.decider.Decider.sight` gives the events of the window whose class the partnership
is permitted, as one object for every partnership permitted the same classes; which classes a
partnership is permitted is shared by the dispatches of an interval under a silent consent
state, and, remembering, a subject's classes are carried over from its window before.
:meth:`~hub.decider.Decider.decisions` gives the partnership's own decisions, found when
asked. Random runs of one subject's windows (grown by an event, old events dropped, the same
window again), decided at moments that cross agreement breakpoints, under no consent, an
empty ledger or grants, must give exactly :func:`hub.view.see` with a fresh evaluator.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub import decider as decider_module
from hub.classified import Class, Classified, groups, members
from hub.consent import ConsentLedger
from hub.decider import Decider
from hub.disclosure import Moment, event_facts
from hub.dsa import (
    NO_CONSENT,
    AgreementBook,
    ConsentBook,
    ConsentGrant,
    ConsentView,
    Decision,
    Evaluator,
    Purpose,
    load_directory,
)
from hub.dsa.decision import stamped
from hub.flags import Contribution, SubjectWindow
from hub.registry import Registry
from hub.view import see
from tests.unit.dispatch.test_decider import (
    LIVE,
    PARTNERSHIPS,
    ROOT,
    SETTINGS,
    START,
    TOKEN,
    book_and_registry,  # noqa: F401  # the fixture
    consents,
    contributions,
)

Book = tuple[AgreementBook, Registry]


def _fresh(
    evaluator: Evaluator,
    pid: str,
    at: datetime,
    consent: ConsentView,
    contributions: Sequence[Contribution],
) -> list[Decision]:
    return [evaluator.decide(event_facts(c, TOKEN), pid, at, consent) for c in contributions]


def classes_of(known: Classified) -> list[Class]:
    """The classes a window's class numbers name in their numbering."""
    named = {n: kind for kind, n in known.numbering.numbers.items()}
    return [named[n] for n in known.kinds]


def _variant(c: Contribution) -> Contribution:
    """Another contribution of the same event id, of another class (a corrected event)."""
    other = c.agency_id != "police"
    fields = {"agency_id": "police", "event_type": "police.arrest"} if other else {}
    return c.model_copy(
        update=fields or {"agency_id": "education", "event_type": "education.suspension"}
    )


def _windows(
    events: list[Contribution], picks: list[list[tuple[int, bool]]]
) -> list[SubjectWindow]:
    """One subject's windows, sharing the contribution objects as a fold does: each holds
    the events picked (by index, in order), some as a variant of the same event id."""
    variants = [_variant(c) for c in events]
    return [
        SubjectWindow(
            contributions=tuple(
                (variants if swap else events)[n] for n, swap in sorted(dict(pick).items())
            )
        )
        for pick in picks
    ]


def _check(
    decider: Decider,
    window: SubjectWindow,
    fresh: Evaluator,
    at: datetime,
    at_once: bool = True,
) -> None:
    """Every partnership's sight and decisions against a fresh evaluator's view: found at
    once (:meth:`Decider.sights`) and one by one (:meth:`Decider.sight`), which agree."""
    ids = [c.event_id for c in window.contributions]
    sights = {}
    together = decider.sights(PARTNERSHIPS, window) if at_once else None
    for n, pid in enumerate(PARTNERSHIPS):
        sight = decider.sight(pid, window)
        if together is not None:
            assert together[n] is sight
        plain = see(window, partial(_fresh, fresh, pid, at, decider.moment.consent))
        assert sight.visible == plain.visible
        assert sight.ids == plain.ids
        assert sight.key == tuple(c.event_id for c in plain.visible)
        decisions = decider.decisions(pid, window)
        assert list(decisions) == ids
        assert len(decisions) == len(ids)
        given_ = [decisions[i] for i in ids]
        assert list(stamped(given_, ids, at)) == list(plain.decisions.values())
        sights[pid] = sight
    # one object for the partnerships that see the same events, another for the others
    for a, b in pairwise(PARTNERSHIPS):
        assert (sights[a] is sights[b]) == (sights[a].ids == sights[b].ids)


@SETTINGS
@given(
    events=contributions(),
    consent=consents(st.integers(0, 500)),
    days=st.lists(st.integers(0, 900), min_size=1, max_size=5),
    data=st.data(),
)
def test_sights_and_decisions_are_a_fresh_evaluators_views(
    book_and_registry: Book,  # noqa: F811
    events: list[Contribution],
    consent: ConsentView,
    days: list[int],
    data: st.DataObject,
) -> None:
    remember = data.draw(st.booleans())
    pick = st.lists(
        st.tuples(st.integers(0, len(events) - 1), st.integers(0, 4).map(lambda n: n == 0)),
        min_size=1,
    )
    windows = _windows(events, data.draw(st.lists(pick, min_size=1, max_size=4)))
    windows.append(windows[-1])  # the same window object again: a tick's rescan
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)
    for day in sorted(days):
        at = START + timedelta(days=day, minutes=day % 7)
        fresh = Evaluator(book, registry)
        for window in windows:
            decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=consent), remember=remember)
            _check(decider, window, fresh, at, at_once=data.draw(st.booleans()))


def _police(n: int, event_type: str = "police.arrest") -> Contribution:
    return Contribution(
        event_id=f"p{n}",
        event_type=event_type,
        agency_id="police",
        occurred_at=LIVE + timedelta(hours=n),
        council="E06000038",
        age=15,
    )


@pytest.mark.parametrize("remember", [False, True])
def test_which_classes_a_partnership_sees_is_found_again_in_a_new_interval(
    book_and_registry: Book,  # noqa: F811
    remember: bool,
) -> None:
    """Reading may see a police arrest from 1 April 2026 (an agreement's breakpoint), not
    before: the classes it sees, shared by the dispatches of an interval, are not carried
    into the next one."""
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)
    window = SubjectWindow(contributions=(_police(0),))
    found = []
    for at in (datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 4, 10, tzinfo=UTC)):
        decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=remember)
        _check(decider, window, Evaluator(book, registry), at)
        found.append(decider.sight("reading", window).ids)
    assert found == [frozenset(), {"p0"}]


def test_a_consent_grant_is_read_for_the_sight_not_the_shared_classes(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """A voluntary-sector engagement is seen only under a consent grant: what a silent ledger
    gives (shared by the interval's dispatches) is not what a live grant gives."""
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)
    engagement = Contribution(
        event_id="v1",
        event_type="voluntary.engagement",
        agency_id="voluntary-sector",
        occurred_at=LIVE,
        council="E06000038",
        age=15,
    )
    window = SubjectWindow(contributions=(engagement, _police(1)))
    grant = ConsentGrant(
        consent_id="c-1",
        subject_token=TOKEN,
        purpose=Purpose.EARLY_INTERVENTION,
        provider="voluntary-sector",
        recipients=frozenset({"reading"}),
        given_at=LIVE,
    )
    at = LIVE + timedelta(days=1)
    found = []
    for consent in (ConsentLedger(), ConsentBook([grant]), NO_CONSENT):
        decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=consent), remember=True)
        _check(decider, window, Evaluator(book, registry), at)
        found.append(decider.sight("reading", window).ids)
    assert found == [{"p1"}, {"v1", "p1"}, {"p1"}]


def test_a_window_met_under_another_evaluator_is_classified_by_it(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """A subject's classes are carried over from its window before only under the same
    evaluator: agreements reloaded without the education one (its age scope cuts at 4) number
    the age bands otherwise, and the window's classes are the new evaluator's."""
    book, registry = book_and_registry
    loaded = load_directory(ROOT / "deploy" / "agreements").agreements
    fewer = [a for path, a in loaded if "education-under18" not in str(path)]
    assert len(fewer) == len(loaded) - 1
    old, new = Evaluator(book, registry), Evaluator(AgreementBook.from_agreements(fewer), registry)
    window = SubjectWindow(contributions=tuple(_police(n) for n in range(3)))
    at = LIVE + timedelta(days=1)
    classes = []
    for evaluator in (old, new):
        decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=True)
        _check(decider, window, evaluator, at)
        decider.sight("reading", window)
        known = decider_module._LAST[TOKEN]
        assert (known.window, known.policy) == (window, evaluator)
        expected = [evaluator.event_class(event_facts(c, TOKEN)) for c in window.contributions]
        assert classes_of(known) == expected
        classes.append(expected)
    assert classes[0] != classes[1]  # not vacuous: the bands differ


def test_a_window_grown_at_the_end_keeps_its_classes_and_finds_the_new_ones(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """A subject's window that grew at the end (the same contribution objects, then new
    ones) takes the classes of the window before for those it had, by identity, and finds
    the new ones' (``Decider._classes_of``): every class is the fresh one, and the first
    ones are the same objects as before."""
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)
    kept = tuple(_police(n) for n in range(3))
    added = (_police(3, "police.weapon_possession"), _police(4, "police.violent_incident"))
    at = LIVE + timedelta(days=1)
    before = SubjectWindow(contributions=kept)
    Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=True).sight(
        "reading", before
    )
    old = decider_module._LAST[TOKEN]
    grown = SubjectWindow(contributions=(*kept, *added))
    decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=True)
    _check(decider, grown, Evaluator(book, registry), at)
    known = decider_module._LAST[TOKEN]
    assert known.window is grown
    assert classes_of(known) == [
        evaluator.event_class(event_facts(c, TOKEN)) for c in grown.contributions
    ]
    assert [f.event_id for f in known.facts] == [c.event_id for c in grown.contributions]
    assert all(a is b for a, b in zip(known.facts[:3], old.facts, strict=True))
    assert known.kinds[3] != known.kinds[0]  # not vacuous: the new ones are other classes


def _classified_before(
    book: AgreementBook, registry: Registry
) -> tuple[Evaluator, datetime, tuple[Contribution, ...], Classified]:
    """An evaluator, a moment, three police events and what the decider remembered of the
    window they make (the window before, for the tests of a window grown from it)."""
    evaluator = Evaluator(book, registry)
    at = LIVE + timedelta(days=1)
    kept = tuple(_police(n) for n in range(3))
    Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=True).sight(
        "reading", SubjectWindow(contributions=kept)
    )
    return evaluator, at, kept, decider_module._LAST[TOKEN]


def test_a_window_of_other_objects_grown_at_the_end_is_classified_afresh(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """A window whose first events are the window before's ids but other objects (corrected
    events: other classes), with one more at the end, takes none of the classes before:
    ``_classes_of``'s slice is taken only when the old contributions are the same objects."""
    book, registry = book_and_registry
    evaluator, at, kept, old = _classified_before(book, registry)
    corrected = tuple(_variant(c) for c in kept)  # the same ids, other objects and classes
    grown = SubjectWindow(contributions=(*corrected, _police(3, "police.weapon_possession")))
    decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=True)
    _check(decider, grown, Evaluator(book, registry), at)
    known = decider_module._LAST[TOKEN]
    assert classes_of(known) == [
        evaluator.event_class(event_facts(c, TOKEN)) for c in grown.contributions
    ]
    assert known.numbering is old.numbering
    assert known.kinds[0] != old.kinds[0]  # not vacuous: the corrected events are other classes


def test_a_grown_window_leaves_the_classes_of_the_window_before_as_they_were(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """The fast path copies the lists of the window before: its facts and classes still
    match its own contributions after a window grown from it was classified."""
    book, registry = book_and_registry
    evaluator, at, kept, old = _classified_before(book, registry)
    facts, kinds = list(old.facts), list(old.kinds)
    grown = SubjectWindow(contributions=(*kept, _police(3, "police.weapon_possession")))
    Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=True).sight(
        "reading", grown
    )
    assert decider_module._LAST[TOKEN] is not old
    assert old.facts == facts
    assert old.kinds == kinds
    assert len(old.facts) == len(old.window.contributions)


@pytest.mark.parametrize("remember", [False, True])
def test_partnerships_permitted_the_same_classes_share_one_sight(
    book_and_registry: Book,  # noqa: F811
    remember: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nine partnerships, a police and a voluntary-sector event (consent-gated, so no
    partnership sees it under a silent ledger): one set of events is made once, and each
    class is decided once per partnership, not once per event."""
    book, registry = book_and_registry
    police = [_police(n, "police.weapon_possession") for n in range(4)]
    window = SubjectWindow(contributions=tuple(police))
    evaluator = Evaluator(book, registry)
    asked: list[str] = []
    outcome = Evaluator.outcome

    def counted(self: Evaluator, facts: object, pid: str, *args: object) -> Decision:
        asked.append(pid)
        return outcome(self, facts, pid, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Evaluator, "outcome", counted)
    decider_module._MASKS.clear()
    decider_module._TABLES.clear()
    at = LIVE + timedelta(days=2)
    decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=ConsentLedger()), remember=remember)
    pids = tuple(p for p in PARTNERSHIPS if p != "no-such-place")
    sights = decider.sights(pids, window)
    assert sorted(asked) == sorted(pids)  # one class, decided once for each
    assert len({id(s) for s in sights}) == len({s.ids for s in sights})
    assert any(s.ids == {c.event_id for c in police} for s in sights)
    assert [decider.sight(pid, window) for pid in pids] == sights
    # a later dispatch of the interval with the same classes asks the evaluator nothing
    asked.clear()
    later = Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=remember)
    again = later.sights(pids, SubjectWindow(contributions=tuple(police)))
    assert asked == []
    assert [s.ids for s in again] == [s.ids for s in sights]


_COUNCILS = (
    "E06000036",
    "E06000037",
    "E06000038",
    "E06000039",
    "E06000040",
    "E06000041",
    "E06000042",
    "E06000060",
    "E07000177",
    "E10000025",
)
_KINDS = ("police.weapon_possession", "police.arrest", "police.violent_incident")


def _many() -> tuple[Contribution, ...]:
    """Police events of 180 classes (types, councils, ages), one a minute."""
    return tuple(
        Contribution(
            event_id=f"m{n:03d}",
            event_type=kind,
            agency_id="police",
            occurred_at=LIVE + timedelta(minutes=n),
            council=council,
            age=age,
        )
        for n, (kind, council, age) in enumerate(
            (k, c, a) for k in _KINDS for c in _COUNCILS for a in (7, 12, 15, 19, 22, 30)
        )
    )


@pytest.mark.parametrize("remember", [False, True])
def test_the_shared_masks_are_bounded_by_class_not_by_window(
    book_and_registry: Book,  # noqa: F811
    remember: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Which partnerships each class permits is shared by the dispatches of an interval, live
    or not, one entry per class number: a key never holds a window's set of classes
    (review16b's 114 MB), and a hostile subject of many classes fills the numbering, which
    the next dispatch replaces (here past 16 classes), the masks with it. The sights found
    are still a fresh evaluator's."""
    monkeypatch.setattr(decider_module, "_NUMBERING_MAX", 16)
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)
    many = _many()
    classes = {evaluator.event_class(event_facts(c, TOKEN)) for c in many}
    assert len(classes) > 16, len(classes)  # not vacuous
    at = LIVE + timedelta(days=1)
    decider_module._MASKS.clear()
    few = SubjectWindow(contributions=many[:3])
    wide = SubjectWindow(contributions=many)
    numberings = []
    some = len({evaluator.event_class(event_facts(c, TOKEN)) for c in many[:3]})
    for window, kept in ((few, some), (wide, len(classes)), (few, some)):
        decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=remember)
        _check(decider, window, Evaluator(book, registry), at)
        assert len(decider_module._MASKS) == 1
        (entry,) = decider_module._MASKS.values()
        numbering = decider_module._NUMBERING[0]
        assert numbering is not None
        assert entry[0] is numbering
        assert len(entry[1]) == kept
        assert set(entry[1]) <= set(numbering.numbers.values())  # one class number a key
        assert len(numbering.numbers) <= 16 + kept  # the bound, and one dispatch's classes
        numberings.append(numbering)
    assert numberings[0] is numberings[1]  # the wide window's classes went on past 16
    assert numberings[2] is not numberings[1]  # then the next dispatch took a fresh one
    # a consent state that answers lookups shares nothing
    decider_module._MASKS.clear()
    granted = Decider(TOKEN, Moment(at, evaluator, 1, consent=ConsentBook([])), remember=remember)
    granted.sights(PARTNERSHIPS, SubjectWindow(contributions=many[:5]))
    assert decider_module._MASKS == {}


def test_a_window_met_again_in_another_interval_is_sighted_again(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """The sights a remembered window last gave are given again only for the same masks: the
    same window object at a tick in the next interval (Reading may see a police arrest from
    1 April 2026) is found again."""
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)
    window = SubjectWindow(contributions=(_police(0), _police(1, "police.weapon_possession")))
    pids = ("reading", "oxfordshire")
    found = []
    moments = (2026, 3, 20), (2026, 3, 21), (2026, 4, 10)
    for at in (datetime(*ymd, tzinfo=UTC) for ymd in moments):
        decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=True)
        found.append([s.ids for s in decider.sights(pids, window)])
        _check(decider, window, Evaluator(book, registry), at, at_once=False)
    assert found[0] == found[1]
    assert found[1] != found[2]
    assert "p0" not in found[0][0]
    assert "p0" in found[2][0]


@settings(max_examples=200, deadline=None)
@given(
    masks=st.lists(st.integers(0, 2**6 - 1), max_size=8),
    count=st.integers(0, 6),
)
def test_groups_split_partnerships_by_exactly_the_classes_they_are_permitted(
    masks: list[int], count: int
) -> None:
    """:func:`hub.classified.groups`: disjoint, covering every partnership, and two
    partnerships share a group exactly when every class permits both or neither."""
    masks = [m & ((1 << count) - 1) for m in masks]
    found = groups(masks, count)
    where = {}
    for g in found:
        for n in members(g):
            assert n not in where  # disjoint
            where[n] = g
    assert sorted(where) == list(range(count))  # covering
    for a in range(count):
        for b in range(count):
            same = all(bool(m >> a & 1) == bool(m >> b & 1) for m in masks)
            assert (where[a] == where[b]) == same


def test_the_last_windows_are_only_the_last_evaluators(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """A new evaluator empties the subjects' last windows, so a superseded one (and the
    windows it classified) is not kept alive by them, as the decision tables do."""
    book, registry = book_and_registry
    at = LIVE + timedelta(days=1)
    window = SubjectWindow(contributions=(_police(0),))
    tokens = [TOKEN.replace("a", letter) for letter in "abc"]
    for evaluator, subjects in (
        (Evaluator(book, registry), tokens[:2]),
        (Evaluator(book, registry), tokens[2:]),
    ):
        for token in subjects:
            decider = Decider(token, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=True)
            decider.sight("reading", window)
        assert list(decider_module._LAST) == subjects
        assert all(k.policy is evaluator for k in decider_module._LAST.values())


def test_the_shared_masks_are_kept_per_set_of_partnerships(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """Two dispatchers of the same interval whose partnerships are as many but in another
    order do not share masks: a mask's bits are positions in its own tuple of partnerships,
    so Reading and Oxfordshire each see their own council's arrest in both orders."""
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)
    window = SubjectWindow(
        contributions=(
            _police(0).model_copy(update={"council": "E06000038"}),
            _police(1).model_copy(update={"council": "E10000025"}),
        )
    )
    at = LIVE + timedelta(days=2)
    decider_module._MASKS.clear()
    found = {}
    for pids in (("reading", "oxfordshire"), ("oxfordshire", "reading")):
        decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT))
        sights = decider.sights(pids, window)
        for pid, sight in zip(pids, sights, strict=True):
            plain = see(window, partial(_fresh, Evaluator(book, registry), pid, at, NO_CONSENT))
            assert sight.ids == plain.ids
            found.setdefault(pid, set()).add(sight.ids)
    assert found["reading"] != found["oxfordshire"]  # they see different events
    assert all(len(seen) == 1 for seen in found.values())


def test_a_grown_windows_sights_are_the_ones_before_with_the_events_added(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """Remembering, a window grown at the end with events of classes the window before had
    gets that window's sights with the added events of each one's classes
    (``Decider._grown_sights``): a sight no added event joins is the same object. An added
    event of a new class is sighted afresh. Each is a fresh evaluator's view."""
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)
    at = LIVE + timedelta(days=1)

    def police(n: int, council: str) -> Contribution:
        return Contribution(
            event_id=f"g{n}",
            event_type="police.weapon_possession",
            agency_id="police",
            occurred_at=LIVE + timedelta(hours=n),
            council=council,
            age=15,
        )

    reading, oxfordshire, milton_keynes = "E06000038", "E10000025", "E06000042"
    grown = [(police(0, reading), police(1, oxfordshire))]
    grown.append((*grown[-1], police(2, oxfordshire)))  # only Oxfordshire's sight grows
    grown.append((*grown[-1], police(3, reading), police(4, oxfordshire)))
    grown.append((*grown[-1], police(5, milton_keynes)))  # a new class
    grown.append((*grown[-1], police(6, reading)))
    given = []
    for events in grown:
        window = SubjectWindow(contributions=events)
        decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=NO_CONSENT), remember=True)
        _check(decider, window, Evaluator(book, registry), at)
        given.append(dict(zip(PARTNERSHIPS, decider.sights(PARTNERSHIPS, window), strict=True)))
    assert given[0]["reading"].ids != given[0]["oxfordshire"].ids  # not vacuous: two sights
    assert given[1]["reading"] is given[0]["reading"]  # the sight before: the grown path
    assert given[1]["oxfordshire"].ids == {"g1", "g2"}
    assert given[3]["milton-keynes"].ids == {"g5"}
    assert given[4]["oxfordshire"] is given[3]["oxfordshire"]


def test_a_grown_window_in_another_interval_is_sighted_afresh(
    book_and_registry: Book,  # noqa: F811
) -> None:
    """Remembering, a window grown at the end with events of its classes only, decided in
    another interval than the window before (an agreement in force since), takes none of
    the sights before: the masks differ (``Decider._grown_sights``). Education suspensions
    in Reading are shared with Reading by 2026-12-01, not by 2026-06-01."""
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)
    before_at, at = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    assert evaluator.interval(before_at) != evaluator.interval(at)

    def event(n: int, agency: str, event_type: str) -> Contribution:
        return Contribution(
            event_id=f"i{n}",
            event_type=event_type,
            agency_id=agency,
            occurred_at=before_at - timedelta(days=10 - n),
            council="E06000038",
            age=15,
        )

    first = (
        event(0, "police", "police.weapon_possession"),
        event(1, "education", "education.suspension"),
    )
    grown = (*first, event(2, "education", "education.suspension"))
    found = []
    for events, when in ((first, before_at), (grown, at)):
        window = SubjectWindow(contributions=events)
        moment = Moment(when, evaluator, 1, consent=NO_CONSENT)
        decider = Decider(TOKEN, moment, remember=True)
        found.append(dict(zip(PARTNERSHIPS, decider.sights(PARTNERSHIPS, window), strict=True)))
        _check(Decider(TOKEN, moment, remember=True), window, Evaluator(book, registry), when)
    assert found[0]["reading"].ids == {"i0"}  # not vacuous: the suspension withheld before
    assert found[1]["reading"].ids == {"i0", "i1", "i2"}
