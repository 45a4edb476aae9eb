"""Properties of evaluation over generated agreements, events, consent and times."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from hub.dsa import (
    Agreement,
    AgreementBook,
    ConsentBook,
    ConsentGrant,
    Decision,
    DenialReason,
    Evaluator,
    EventFacts,
    Purpose,
    decode_agreement_message,
    encode_agreement_message,
    project,
)
from hub.dsa.decision import BASE_FIELDS
from tests.unit.dsa.builders import agreement_dict, registry

REGISTRY = registry()
AGENCY_TYPES = {
    "police": ["police.arrest", "police.violent_incident"],
    "education": ["education.suspension"],
    "voluntary-sector": ["voluntary.engagement"],
}
PARTNERS = ["reading", "wokingham", "slough", "oxfordshire"]
COUNCILS = {p.id: set(p.councils) for p in REGISTRY.partnerships}
FIELDS = ["a", "b", "c", "d"]
PURPOSES = [Purpose.SERIOUS_VIOLENCE_PREVENTION, Purpose.SAFEGUARDING, Purpose.EARLY_INTERVENTION]
DAY0 = date(2026, 1, 1)
DAY_ZERO = datetime.combine(DAY0, time(0), tzinfo=UTC)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _day(offset: int) -> str:
    return (DAY0 + timedelta(days=offset)).isoformat()


# Every strategy below is built once (module constants, or cached by its arguments) and drawn
# from many times: hypothesis validates a strategy on each draw, and a strategy built afresh
# per draw is validated afresh, which cost most of these tests' time. The draws are the same
# ones, in the same order, from strategies of the same definition, so the examples are too.


@functools.cache
def mostly(
    strategy: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], odds: int = 10
) -> st.SearchStrategy[Any]:
    """``rare`` once in ``odds`` draws, ``strategy`` otherwise."""
    return st.integers(1, odds).flatmap(lambda k: rare if k == odds else strategy)


@functools.cache
def pick(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """One of ``options``."""
    return st.sampled_from(options)


@functools.cache
def some(
    options: tuple[Any, ...], min_size: int = 0, max_size: int | None = None
) -> st.SearchStrategy[list[Any]]:
    """A list of distinct ``options``."""
    return st.lists(pick(options), min_size=min_size, max_size=max_size, unique=True)


@functools.cache
def ends(start: int) -> st.SearchStrategy[int | None]:
    return mostly(st.none(), st.integers(start, start + 120), odds=3)


ages = st.none() | st.tuples(st.none() | st.integers(0, 25), st.none() | st.integers(0, 25)).map(
    lambda b: {"min": b[0], "max": b[1]}
)
AGENCIES = tuple(sorted(AGENCY_TYPES))
MOSTLY_NOT = mostly(st.just(False), st.just(True), odds=3)
MOSTLY_NO_AGES = mostly(st.none(), ages, odds=3)
SOME_FIELDS = mostly(some(tuple(FIELDS), min_size=1), st.just([]))
SIGNED = mostly(st.integers(-30, 30), st.none())
UP_TO_TWO = st.integers(0, 2)
STARTS = st.integers(0, 60)
CONSENT_PURPOSE = st.none() | pick(tuple(PURPOSES))


@st.composite
def agreements(draw: st.DrawFn, agreement_id: str) -> Agreement:
    providers = draw(some(AGENCIES, min_size=1, max_size=2))
    recipients = draw(some(tuple(PARTNERS), min_size=1, max_size=3))
    types = tuple(sorted({t for p in providers for t in AGENCY_TYPES[p]}))
    items = [
        {
            "event_type": t,
            "level": draw(pick(("person", "area"))),
            "fields": [{"name": f} for f in draw(some(tuple(FIELDS)))],
            "consent_required": draw(MOSTLY_NOT),
            "age_scope": draw(MOSTLY_NO_AGES),
        }
        for t in draw(some(types, min_size=1))
    ]
    prohibitions = [
        {
            "id": f"p{i}",
            "description": "generated",
            "event_types": draw(some(types, max_size=1)),
            "recipients": draw(some(tuple(recipients), max_size=1)),
            "purposes": draw(some(tuple(PURPOSES), max_size=1)),
            "fields": draw(SOME_FIELDS),
            "age_scope": draw(ages),
        }
        for i in range(draw(UP_TO_TWO))
    ]
    start = draw(STARTS)
    end = draw(ends(start))
    signed = [draw(SIGNED) for _ in range(len(providers) + len(recipients))]
    parties = providers + recipients
    contact = {"name": "n", "role": "r", "email": "x@y.example"}
    doc = agreement_dict(
        id=agreement_id,
        providers=[
            {
                "party": p,
                "role": "controller",
                "contact": contact,
                "lawful_basis": {"article_6": "public_task"},
            }
            for p in providers
        ],
        recipients=[
            {
                "party": r,
                "role": "controller",
                "contact": contact,
                "neighbours": draw(some(tuple(PARTNERS), max_size=1)),
            }
            for r in recipients
        ],
        purposes=draw(some(tuple(PURPOSES), min_size=1)),
        consent_purpose=draw(CONSENT_PURPOSE),
        data_items=items,
        prohibitions=prohibitions,
        age_scope=draw(MOSTLY_NO_AGES),
        effective_from=_day(start),
        effective_to=None if end is None else _day(end),
        signatories=[
            {"name": "s", "role": "r", "party": p, "signed_on": None if s is None else _day(s)}
            for p, s in zip(parties, signed, strict=True)
        ],
    )
    return Agreement.model_validate(doc)


moments = st.integers(20 * 24, 150 * 24).map(
    lambda h: datetime.combine(DAY0, time(0), tzinfo=UTC) + timedelta(hours=h)
)
ANYWHERE = st.none() | pick(tuple(sorted(c for p in PARTNERS for c in COUNCILS[p])))
AGES_OR_NONE = mostly(st.integers(0, 25), st.none())
TOKEN_OR_NONE = mostly(st.just("tok"), st.none())


@st.composite
def events(draw: st.DrawFn, likely: tuple[str, ...], recipient: str) -> EventFacts:
    agency = draw(mostly(pick(likely), pick(AGENCIES), odds=4))
    council = draw(mostly(pick(tuple(sorted(COUNCILS[recipient]))), ANYWHERE, odds=3))
    return EventFacts(
        event_id="ev",
        agency_id=agency,
        event_type=draw(pick(tuple(AGENCY_TYPES[agency]))),
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        council=council,
        age=draw(AGES_OR_NONE),
        subject_token=draw(TOKEN_OR_NONE),
        fields={f: f"value-{f}" for f in [*FIELDS, "secret"]},
    )


GIVEN_AT = mostly(st.just(DAY_ZERO), moments)
WITHDRAWN_AT = st.none() | moments
UP_TO_THREE = st.integers(0, 3)


@st.composite
def consents(draw: st.DrawFn) -> ConsentBook:
    grants = [
        ConsentGrant(
            consent_id=f"c{i}",
            subject_token="tok",
            purpose=draw(pick(tuple(PURPOSES))),
            provider=draw(pick(AGENCIES)),
            recipients=frozenset(draw(st.lists(pick(tuple(PARTNERS)), min_size=1))),
            given_at=draw(GIVEN_AT),
            withdrawn_at=draw(WITHDRAWN_AT),
        )
        for i in range(draw(UP_TO_THREE))
    ]
    return ConsentBook(grants)


IDS = st.lists(st.integers(0, 2**16), min_size=1, max_size=4, unique=True)


@functools.cache
def agreements_named(agreement_id: str) -> st.SearchStrategy[Agreement]:
    return agreements(agreement_id)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Any, ...]:
    ids = draw(IDS)
    agreements_ = tuple(draw(agreements_named(f"a{i}")) for i in ids)
    providers = tuple(sorted({p for a in agreements_ for p in a.provider_ids}))
    recipients = tuple(sorted({r for a in agreements_ for r in a.recipient_ids}))
    recipient = draw(mostly(pick(recipients), pick(tuple(PARTNERS)), odds=4))
    return (
        agreements_,
        draw(events(providers, recipient)),
        recipient,
        draw(moments),
        draw(pick(tuple(PURPOSES))),
        draw(consents()),
    )


Scenario = tuple[tuple[Agreement, ...], EventFacts, str, datetime, Purpose, ConsentBook]


def _in_force(a: Agreement, at: datetime) -> bool:
    """An independent statement of "in force": between dates and after every signature."""
    if any(s.signed_on is None for s in a.signatories):
        return False
    days = [a.effective_from, *(s.signed_on for s in a.signatories if s.signed_on)]
    start = datetime.combine(max(days), time(0), tzinfo=UTC)
    end = (
        None
        if a.effective_to is None
        else datetime.combine(a.effective_to + timedelta(1), time(0), tzinfo=UTC)
    )
    return start <= at and (end is None or at < end)


def _covers(a: Agreement, s: Scenario) -> bool:
    _, e, recipient, at, purpose, consent = s
    item = a.item_for(e.event_type)
    entry = a.recipient(recipient)
    if (
        item is None
        or entry is None
        or e.agency_id not in a.provider_ids
        or purpose not in a.purposes
    ):
        return False
    area = set().union(*(COUNCILS[p] for p in (recipient, *entry.neighbours)))
    scope = item.age_scope or a.age_scope
    in_age = (
        scope is None
        or (scope.min is None and scope.max is None)
        or (
            e.age is not None
            and (scope.min is None or e.age >= scope.min)
            and (scope.max is None or e.age <= scope.max)
        )
    )
    consented = not item.consent_required or (
        e.subject_token is not None
        and consent.consent_for(
            e.subject_token, a.consent_purpose or purpose, e.agency_id, recipient, at
        )
        is not None
    )
    return e.council in area and in_age and consented


def _forbids(a: Agreement, e: EventFacts, recipient: str, purpose: Purpose) -> set[str] | None:
    """Fields a's prohibitions remove, or None when one forbids the whole flow."""
    removed: set[str] = set()
    if e.agency_id not in a.provider_ids or recipient not in a.recipient_ids:
        return removed
    for rule in a.prohibitions:
        scope = rule.age_scope
        in_age = (
            scope is None
            or e.age is None
            or (
                (scope.min is None or e.age >= scope.min)
                and (scope.max is None or e.age <= scope.max)
            )
        )
        if (
            (not rule.event_types or e.event_type in rule.event_types)
            and (not rule.recipients or recipient in rule.recipients)
            and (not rule.purposes or purpose in rule.purposes)
            and in_age
        ):
            if not rule.fields:
                return None
            removed |= set(rule.fields)
    return removed


def _decide(s: Scenario, agreements_: tuple[Agreement, ...] | None = None) -> Decision:
    shipped, e, r, at, p, c = s
    book = AgreementBook.from_agreements(shipped if agreements_ is None else agreements_)
    return Evaluator(book, REGISTRY).decide(e, r, at, c, p)


@PROPERTY
@given(scenarios())
def test_permit_iff_an_agreement_in_force_covers_the_flow_and_nothing_forbids_it(s: Any) -> None:
    agreements_, e, recipient, at, purpose, _consent = s
    decision = _decide(s)
    live = [a for a in agreements_ if _in_force(a, at)]
    covering = [a for a in live if _covers(a, s)]
    forbidden = any(_forbids(a, e, recipient, purpose) is None for a in live)
    note_event(f"outcome={decision.outcome}")
    note_event(f"reasons={','.join(decision.reasons)}")
    assert decision.permitted == (bool(covering) and not forbidden)
    if decision.permitted:
        chosen = next(a for a in live if a.id == decision.agreement_id)
        assert chosen in covering
        assert decision.agreement_version == chosen.version
    else:
        assert decision.reasons
        assert (DenialReason.PROHIBITED in decision.reasons) == forbidden


@PROPERTY
@given(scenarios())
def test_projection_never_leaves_the_allow_list(s: Any) -> None:
    agreements_, e, recipient, at, purpose, _consent = s
    decision = _decide(s)
    out = project(e, decision)
    assert "secret" not in out
    if not decision.permitted:
        assert out == {}
        return
    chosen = next(a for a in agreements_ if a.id == decision.agreement_id)
    item = chosen.item_for(e.event_type)
    assert item is not None
    removed = set().union(
        *(_forbids(a, e, recipient, purpose) or set() for a in agreements_ if _in_force(a, at))
    )
    allowed = set(BASE_FIELDS) | (item.field_names - removed)
    if item.level == "person":
        allowed.add("subject_token")
    assert set(out) <= allowed
    assert not set(out) & removed


@PROPERTY
@given(scenarios(), st.data())
def test_a_prohibition_always_wins(s: Any, data: st.DataObject) -> None:
    agreements_, e, _recipient, _at, _purpose, _consent = s
    decision = _decide(s)
    note_event(f"prohibition exercised={decision.permitted}")
    if not decision.permitted:
        return
    index = next(i for i, a in enumerate(agreements_) if a.id == decision.agreement_id)
    target = agreements_[index]
    whole = data.draw(st.booleans())
    field = data.draw(pick(tuple(FIELDS)))
    rule: dict[str, Any] = {"id": "added", "description": "added", "event_types": [e.event_type]}
    if not whole:
        rule["fields"] = [field]
    doc = target.model_dump(mode="json")
    doc["prohibitions"].append(rule)
    changed = (*agreements_[:index], Agreement.model_validate(doc), *agreements_[index + 1 :])
    after = _decide(s, changed)
    if whole:
        assert not after.permitted
        assert DenialReason.PROHIBITED in after.reasons
    else:
        assert field not in after.fields
        assert field not in project(e, after)


@PROPERTY
@given(scenarios(), st.data())
def test_evaluation_at_t_is_unchanged_by_any_later_agreement_change(
    s: Any, data: st.DataObject
) -> None:
    agreements_, e, recipient, at, purpose, consent = s
    book = AgreementBook()
    for seq, a in enumerate(agreements_, start=1):
        book = book.apply(encode_agreement_message(a, seq, at - timedelta(days=400)))
    before = Evaluator(book, REGISTRY).decide(e, recipient, at, consent, purpose)
    target = data.draw(st.sampled_from(agreements_))
    replacement = data.draw(agreements_named(target.id if data.draw(st.booleans()) else "new-one"))
    doc = replacement.model_dump(mode="json")
    if replacement.id == target.id:
        doc["version"] = target.version + 1
        doc["change_history"] = [
            *doc["change_history"],
            {"version": target.version + 1, "changed_on": "2026-01-01", "summary": "later"},
        ]
    later = data.draw(st.integers(1, 10**6))
    book = book.apply(
        encode_agreement_message(
            Agreement.model_validate(doc), len(agreements_) + 1, at + timedelta(seconds=later)
        )
    )
    after = Evaluator(book, REGISTRY).decide(e, recipient, at, consent, purpose)
    assert after == before


@PROPERTY
@given(agreements("round-trip"), st.integers(1, 2**40), moments)
def test_agreement_messages_round_trip(agreement: Agreement, sequence: int, at: datetime) -> None:
    data = encode_agreement_message(agreement, sequence, at)
    publication = decode_agreement_message(data)
    assert publication.agreement == agreement
    assert (publication.sequence, publication.published_at) == (sequence, at)
    assert encode_agreement_message(publication.agreement, sequence, at) == data


@PROPERTY
@given(scenarios(), st.lists(st.none() | st.integers(0, 30), min_size=1, max_size=12))
def test_decisions_remembered_by_age_band_equal_fresh_decisions(
    s: Any, ages_: list[int | None]
) -> None:
    """One evaluator deciding many ages (it remembers decisions per band of ages its scopes
    treat alike) gives, for every age, what a fresh evaluator decides for that age alone."""
    agreements_, e, recipient, at, purpose, consent = s
    book = AgreementBook.from_agreements(agreements_)
    shared = Evaluator(book, REGISTRY)
    for i, age in enumerate(ages_):
        event = e.model_copy(update={"age": age, "event_id": f"ev{i}"})
        fresh = Evaluator(book, REGISTRY).decide(event, recipient, at, consent, purpose)
        assert shared.decide(event, recipient, at, consent, purpose) == fresh
        assert shared.outcome(event, recipient, at, consent, purpose).outcome == fresh.outcome
