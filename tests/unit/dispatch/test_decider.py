"""The decider's memos give what deciding afresh gives, across dispatches and consent states.

:class:`hub.decider.Decider` decides each (event class, partnership, consent view) once per
dispatch, remembers a partnership's decisions by class across dispatches of one interval when
the consent state answers nothing, and, with ``remember``, remembers facts, classes and each
subject's window classes (:meth:`Decider.sight`) across dispatches. Random sets of
contributions (the shipped agreements' agencies, types, areas and ages, consent-gated
voluntary-sector events among them), decided at a run of moments that crosses agreement
breakpoints, under no consent, an empty ledger or grants that start and end between the
moments, must give exactly a fresh evaluator's decisions, restamped for each event and time,
and :func:`hub.view.see`'s view. The dispatch memo of the hub's flag is checked against
:func:`hub.disclosure.hub_flag` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import decider as decider_module
from hub.consent import ConsentLedger
from hub.decider import Decider
from hub.disclosure import Moment, event_facts, hub_flag
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
from hub.registry import Registry, load_registry
from hub.remembered import remembered_flag as _hub_flag
from hub.rules import load_rules
from hub.view import see

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "lt1:0123456789abcdef:" + "a" * 52
START = datetime(2026, 3, 1, tzinfo=UTC)
"""Before the shipped agreements take effect: the runs of moments cross their breakpoints."""
LIVE = datetime(2026, 12, 1, tzinfo=UTC)
"""Every shipped agreement in force."""
KINDS = (
    ("police", "police.weapon_possession"),
    ("police", "police.arrest"),
    ("education", "education.suspension"),
    ("childrens-social-care", "csc.missing_episode"),
    ("youth-justice", "youth_justice.court_outcome"),
    ("voluntary-sector", "voluntary.engagement"),
    ("health", "health.ed_assault"),
)
COUNCILS = ("E06000038", "E10000025", "E06000042", None)
PARTNERSHIPS = ("reading", "oxfordshire", "milton-keynes", "bracknell-forest", "no-such-place")


@pytest.fixture(scope="module")
def book_and_registry() -> tuple[AgreementBook, Registry]:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    agreements = [a for _, a in load_directory(ROOT / "deploy" / "agreements").agreements]
    return AgreementBook.from_agreements(agreements), registry


def contributions() -> st.SearchStrategy[list[Contribution]]:
    one = st.tuples(
        st.integers(0, len(KINDS) - 1),
        st.sampled_from(COUNCILS),
        st.one_of(st.none(), st.integers(8, 30)),
        st.integers(0, 400),
    )

    def build(raw: list[tuple[int, str | None, int | None, int]]) -> list[Contribution]:
        found = []
        for n, (kind, council, age, day) in enumerate(raw):
            agency, event_type = KINDS[kind]
            found.append(
                Contribution(
                    event_id=f"e{n:03d}",
                    event_type=event_type,
                    agency_id=agency,
                    occurred_at=START + timedelta(days=day, hours=n),
                    council=council,
                    age=age,
                )
            )
        return sorted(found, key=lambda c: c.key)

    return st.lists(one, min_size=1, max_size=12).map(build)


def consents(days: st.SearchStrategy[int]) -> st.SearchStrategy[ConsentView]:
    grant = st.builds(
        lambda given, length, recipients: ConsentGrant(
            consent_id=f"c-{given}-{length}",
            subject_token=TOKEN,
            purpose=Purpose.EARLY_INTERVENTION,
            provider="voluntary-sector",
            recipients=frozenset(recipients),
            given_at=START + timedelta(days=given),
            withdrawn_at=None if length is None else START + timedelta(days=given + length),
        ),
        days,
        st.one_of(st.none(), st.integers(1, 60)),
        st.sets(st.sampled_from(PARTNERSHIPS), min_size=1),
    )
    return st.one_of(
        st.just(NO_CONSENT),
        st.just(ConsentLedger()),
        st.lists(grant, min_size=1, max_size=3).map(ConsentBook),
    )


SETTINGS: Any = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(
    window=contributions(),
    consent=consents(st.integers(0, 500)),
    times=st.lists(st.integers(0, 900), min_size=1, max_size=6),
    data=st.data(),
)
def test_the_decider_gives_a_fresh_evaluators_decisions_and_views(
    book_and_registry: tuple[AgreementBook, Registry],
    window: list[Contribution],
    consent: ConsentView,
    times: list[int],
    data: st.DataObject,
) -> None:
    remember = data.draw(st.booleans())  # across dispatches (a backtest's) or not (live)
    book, registry = book_and_registry
    evaluator = Evaluator(book, registry)  # one for the run: its memos and the decider's
    subject = SubjectWindow(contributions=tuple(window))
    ids = [c.event_id for c in window]
    for day in sorted(times):
        at = START + timedelta(days=day, minutes=day % 7)
        decider = Decider(TOKEN, Moment(at, evaluator, 1, consent=consent), remember=remember)
        fresh = Evaluator(book, registry)  # no memo of any kind
        for pid in PARTNERSHIPS:
            expected = [fresh.decide(event_facts(c, TOKEN), pid, at, consent) for c in window]
            given_ = decider.decide(pid)(window)
            assert list(stamped(given_, ids, at)) == expected
            only = frozenset(data.draw(st.sets(st.sampled_from(ids))))
            for subset in (None, only):
                view = see(subject, decider.decide(pid), subset)
                plain = see(subject, partial(_fresh, fresh, pid, at, consent), subset)
                assert view.ids == plain.ids
                assert view.visible == plain.visible
                assert list(view.decisions) == list(plain.decisions)
                assert list(stamped(view.decisions.values(), list(view.decisions), at)) == list(
                    plain.decisions.values()
                )


def _fresh(
    evaluator: Evaluator,
    pid: str,
    at: datetime,
    consent: ConsentView,
    contributions: Sequence[Contribution],
) -> list[Decision]:
    return [evaluator.decide(event_facts(c, TOKEN), pid, at, consent) for c in contributions]


def test_a_consent_grant_between_two_moments_changes_the_view(
    book_and_registry: tuple[AgreementBook, Registry],
) -> None:
    """Not vacuous: a view remembered under no consent is not given under a live grant."""
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
    subject = SubjectWindow(contributions=(engagement,))
    at = LIVE + timedelta(days=1)
    grant = ConsentGrant(
        consent_id="c-1",
        subject_token=TOKEN,
        purpose=Purpose.EARLY_INTERVENTION,
        provider="voluntary-sector",
        recipients=frozenset({"reading"}),
        given_at=LIVE,
    )
    silent = Decider(TOKEN, Moment(at, evaluator, 1, consent=ConsentLedger()), remember=True)
    assert see(subject, silent.decide("reading")).ids == frozenset()
    granted = Decider(TOKEN, Moment(at, evaluator, 1, consent=ConsentBook([grant])), remember=True)
    assert see(subject, granted.decide("reading")).ids == {"v1"}


@SETTINGS
@given(window=contributions())
def test_the_remembered_hub_flag_is_the_fresh_one(window: list[Contribution]) -> None:
    for _, rule in load_rules(ROOT / "deploy" / "rules").rules:
        assert _hub_flag(rule, TOKEN, window) == hub_flag(rule, TOKEN, window)
        assert _hub_flag(rule, TOKEN, window) == hub_flag(rule, TOKEN, window)  # remembered
        assert _hub_flag(rule, "lt1:other", window) == hub_flag(rule, "lt1:other", window)


@given(window=contributions())
@settings(max_examples=5, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_shared_decisions_are_only_the_current_evaluators(
    book_and_registry: tuple[AgreementBook, Registry], window: list[Contribution]
) -> None:
    """A worker that reloads its agreements decides under a new evaluator: the decisions
    shared across dispatches (a silent consent state) no longer hold the old one alive."""
    book, registry = book_and_registry
    old, new = Evaluator(book, registry), Evaluator(book, registry)
    for evaluator in (old, new):
        decider = Decider(TOKEN, Moment(START, evaluator, 1, consent=NO_CONSENT))
        for pid in PARTNERSHIPS:
            decider.decide(pid)(window)
    held = [entry[0] for entry in decider_module._TABLES.values()]
    assert held
    assert all(numbering.policy is new for numbering in held)
    assert decider_module._TABLES_OF[0] is held[0]
