"""The decider's class numbers (:class:`hub.classified.Numbering`): one numbering at a time,
the last evaluator's, replaced when a dispatch finds it full, and never two numberings' numbers
in one look-up.

The decider keys a window's classes, the decisions shared by an interval's dispatches and
each class's permitted partnerships by class number, and a partnership's permitted classes
by a set of numbers (one int). A number means a class only in its own numbering: these tests
run dispatches whose numberings change under them (another evaluator, another subject met
first, a numbering full) and check every sight against :func:`hub.view.see` with a fresh
evaluator, and that the numbering and the memos keyed by it stay within their bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import decider as decider_module
from hub.classified import Numbering
from hub.decider import Decider
from hub.disclosure import Moment, event_facts
from hub.dsa import (
    NO_CONSENT,
    AgreementBook,
    ConsentView,
    Decision,
    Evaluator,
    load_directory,
)
from hub.flags import Contribution, SubjectWindow
from hub.view import see
from tests.unit.dispatch.test_decider import (
    PARTNERSHIPS,
    ROOT,
    START,
    TOKEN,
    book_and_registry,  # noqa: F401  # the fixture
    consents,
    contributions,
)
from tests.unit.dispatch.test_sight import Book

AT = datetime(2026, 12, 2, tzinfo=UTC)
"""Every shipped agreement in force."""


def _event(n: int, agency: str, event_type: str, council: str = "E06000038") -> Contribution:
    return Contribution(
        event_id=f"n{n}",
        event_type=event_type,
        agency_id=agency,
        occurred_at=AT - timedelta(days=20 - n),
        council=council,
        age=15,
    )


def _forget() -> None:
    """No numbering, nor anything keyed by one: each example starts where a worker starts."""
    decider_module._NUMBERING[0] = None
    for memo in (decider_module._LAST, decider_module._TABLES, decider_module._MASKS):
        memo.clear()
    for owner in (decider_module._LAST_OF, decider_module._TABLES_OF, decider_module._MASKS_OF):
        owner[0] = None


def _given(decisions: list[Decision], _: Sequence[Contribution]) -> list[Decision]:
    return decisions


def _check(decider: Decider, window: SubjectWindow, fresh: Evaluator) -> None:
    """Every partnership's sight, found at once and one by one, is the fresh evaluator's."""
    at, consent = decider.moment.at, decider.moment.consent
    facts = [event_facts(c, decider.token) for c in window.contributions]
    together = decider.sights(PARTNERSHIPS, window)
    for pid, sight in zip(PARTNERSHIPS, together, strict=True):
        decisions = [fresh.decide(f, pid, at, consent) for f in facts]
        expected = see(window, partial(_given, decisions))
        assert sight.ids == expected.ids, pid
        assert sight.visible == expected.visible
        assert decider.sight(pid, window) is sight


def _fewer(book: Book) -> Evaluator:
    """The shipped agreements without the education one: education events are shared with
    no partnership (the classes of an age without a band of its own are the same tuples)."""
    loaded = load_directory(ROOT / "deploy" / "agreements").agreements
    fewer = [a for path, a in loaded if "education-under18" not in str(path)]
    return Evaluator(AgreementBook.from_agreements(fewer), book[1])


@pytest.mark.parametrize("remember", [False, True])
def test_class_numbers_of_two_evaluators_are_never_mixed(
    book_and_registry: Book,  # noqa: F811
    remember: bool,
) -> None:
    """Police events Reading may see, voluntary-sector ones no partnership may see under no
    consent, education ones that only the full book shares: met in another order under each
    evaluator, so that each class has another number in each numbering. A subject's window
    carried over from another evaluator's dispatch, masks or decisions kept under another
    numbering, or one numbering kept across evaluators would give a class another's sight."""
    book, registry = book_and_registry
    full, again, fewer = (
        Evaluator(book, registry),
        Evaluator(book, registry),
        _fewer(book_and_registry),
    )
    police = _event(0, "police", "police.weapon_possession")
    voluntary = _event(1, "voluntary-sector", "voluntary.engagement")
    school = _event(2, "education", "education.suspension")
    more_police = _event(3, "police", "police.weapon_possession")
    tokens = [TOKEN.replace("a", letter) for letter in "abcd"]
    _forget()
    steps = [
        (full, tokens[0], (police, school)),  # numbered police 0, education 1
        (again, tokens[0], (police, school, voluntary)),  # the window before, another evaluator
        (again, tokens[1], (voluntary, police)),  # voluntary 0 in this numbering
        (full, tokens[2], (police, voluntary)),  # back to the first book: police 0
        (fewer, tokens[3], (school, police)),  # education 0 under the book that withholds it
        (fewer, tokens[3], (school, police, more_police)),  # grown: the sights before, kept
        (full, tokens[3], (school, police, more_police, voluntary)),
    ]
    seen = []
    for evaluator, token, events in steps:
        window = SubjectWindow(contributions=events)
        decider = Decider(token, Moment(AT, evaluator, 1, consent=NO_CONSENT), remember=remember)
        _check(decider, window, Evaluator(evaluator.book, registry))
        seen.append(decider.sights(PARTNERSHIPS, window)[0].ids)
        numbering = decider_module._NUMBERING[0]
        assert numbering is not None
        assert numbering.policy is evaluator
    # not vacuous: Reading sees the police events and education only under the full book
    assert seen[0] == {"n0", "n2"}
    assert seen[1] == {"n0", "n2"}
    assert seen[2] == {"n0"}
    assert seen[4] == {"n0"}
    assert seen[6] == {"n0", "n2", "n3"}


def test_the_numbering_and_the_memos_keyed_by_it_are_bounded(
    book_and_registry: Book,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A feed of ever new classes (councils and types, subject after subject): the numbering
    holds at most the bound and one dispatch's classes, a dispatch that finds it full takes a
    fresh one, and the subjects' last windows, the shared decisions and masks hold only the
    current numbering's numbers, at most its classes each."""
    monkeypatch.setattr(decider_module, "_NUMBERING_MAX", 8)
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)
    councils = ("E06000036", "E06000037", "E06000038", "E06000039", "E06000040", "E10000025")
    types = ("police.weapon_possession", "police.arrest", "police.violent_incident")
    events = [
        _event(n, "police", kind, council)
        for n, (kind, council) in enumerate((k, c) for c in councils for k in types)
    ]
    numberings: list[Numbering] = []
    _forget()
    for n in range(0, len(events), 3):
        window = SubjectWindow(contributions=tuple(events[n : n + 5]))
        token = TOKEN.replace("a", "bcdefghijklm"[n // 3])
        decider = Decider(token, Moment(AT, evaluator, 1, consent=NO_CONSENT), remember=True)
        _check(decider, window, Evaluator(book, registry))
        numbering = decider_module._NUMBERING[0]
        assert numbering is not None
        assert len(numbering.numbers) <= 8 + len(window.contributions)
        numbers = set(numbering.numbers.values())
        for memo, owner in (
            (decider_module._TABLES, decider_module._TABLES_OF),
            (decider_module._MASKS, decider_module._MASKS_OF),
        ):
            assert owner[0] is numbering
            assert all(
                entry[0] is numbering and set(entry[1]) <= numbers for entry in memo.values()
            )
        assert decider_module._LAST_OF[0] is numbering
        assert all(known.numbering is numbering for known in decider_module._LAST.values())
        if not numberings or numberings[-1] is not numbering:
            numberings.append(numbering)
    assert len(numberings) >= 2  # not vacuous: the numbering was full and replaced


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=contributions(),
    consent=consents(st.integers(0, 500)),
    most=st.integers(1, 4),
    data=st.data(),
)
def test_sights_under_a_small_numbering_are_a_fresh_evaluators(
    book_and_registry: Book,  # noqa: F811
    events: list[Contribution],
    consent: ConsentView,
    most: int,
    data: st.DataObject,
) -> None:
    """Random windows of one subject and others (grown, trimmed, the same again) under two
    evaluators, with a numbering of a few classes, replaced nearly every dispatch: every
    sight is still a fresh evaluator's."""
    book, registry = book_and_registry
    evaluators = [Evaluator(book, registry), Evaluator(book, registry)]
    remember = data.draw(st.booleans())
    _forget()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decider_module, "_NUMBERING_MAX", most)
        for _ in range(data.draw(st.integers(1, 6))):
            start = data.draw(st.integers(0, len(events) - 1))
            end = data.draw(st.integers(start + 1, len(events)))
            window = SubjectWindow(contributions=tuple(events[start:end]))
            token = data.draw(st.sampled_from([TOKEN, TOKEN.replace("a", "b")]))
            evaluator = data.draw(st.sampled_from(evaluators))
            at = START + timedelta(days=data.draw(st.integers(0, 900)))
            moment = Moment(at, evaluator, 1, consent=consent)
            _check(Decider(token, moment, remember=remember), window, Evaluator(book, registry))
