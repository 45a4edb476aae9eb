"""The partnerships of a dispatch decided together are decided as one by one.

:meth:`hub.rounds.Round.decide_all` finds once per sight what decides a partnership that holds
no flag (whether the trigger concerns it, the flags denied to it) and leaves each
partnership's view, alerts and decisions its own, in order. Random histories of one subject
(several agencies and areas, late events, clock ticks) go through the pure pipeline twice:
as dispatch runs, and with every partnership decided by :meth:`~hub.rounds.Round.decide`
in turn, for the worker's dispatcher (records) and a backtest's (counts, remembered
episodes). Every step must be the same: state, records or counts in order, alerts in order
with their bodies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given

from hub.correlate import Correlator
from hub.dispatch import Dispatcher, Moment, Recipient, SubjectState, Trigger
from hub.dsa import ConsentBook, ConsentGrant, Evaluator, Purpose
from hub.flags import Contribution, FlagState, SubjectWindow
from hub.rounds import Round
from hub.view import Sight
from tests.unit.dispatch.test_view_property import (
    SETTINGS,
    START,
    TOKEN,
    Item,
    World,
    encode,
    items,
    opened,
    steps,
    world,  # noqa: F401  # the fixture
)


def _one_by_one(
    self: Round,
    recipients: Sequence[Recipient],
    sights: Sequence[Sight],
    active: Sequence[tuple[FlagState, frozenset[str]]],
    trigger: Trigger,
) -> None:
    for recipient, seen in zip(recipients, sights, strict=True):
        self.decide(recipient, active, trigger, seen)


@contextmanager
def _one_by_one_decided() -> Iterator[None]:
    together = Round.decide_all
    Round.decide_all = _one_by_one  # type: ignore[method-assign]
    try:
        yield
    finally:
        Round.decide_all = together  # type: ignore[method-assign]


def _steps(place: World, correlator: Correlator, history: Sequence[Item]) -> list[Any]:
    """Each dispatch's outputs over the history, events and ticks in time order."""
    return [
        (
            step.state,
            step.decisions,
            step.counted,
            [
                (p.partnership_id, p.alert_id, opened(place, p, p.partnership_id).body.to_bytes())
                for p in step.pending
            ],
        )
        for step in steps(place, correlator, history)
    ]


@SETTINGS
@given(history=items())
def test_partnerships_decided_together_are_decided_as_one_by_one(
    world: World,  # noqa: F811  # the fixture
    history: list[Item],
) -> None:
    live = world.correlator
    rules, recipients = live.dispatcher.rules, live.dispatcher.recipients
    backtest = replace(live, dispatcher=Dispatcher(rules, recipients, remembered=64, ledger=False))
    for correlator in (live, backtest):
        together = _steps(world, correlator, history)
        with _one_by_one_decided():
            alone = _steps(world, correlator, history)
        assert together == alone


@SETTINGS
@given(history=items())
def test_a_resend_to_partnerships_holding_nothing_is_decided_as_one_by_one(
    world: World,  # noqa: F811  # the fixture
    history: list[Item],
) -> None:
    """A resend (a redelivered event) views every partnership, one that may not see the
    event too: :meth:`~hub.rounds.Round.decide_all` leaves it to
    :meth:`~hub.rounds.Round.decide`. Each step's state is dispatched again with no flag held
    (a partnership added since, say), resent for its window's first and last events."""
    correlator = world.correlator
    evaluator = Evaluator(world.book, world.registry)
    for state, at in _states(world, correlator, history):
        bare = state.model_copy(update={"held": {}})
        moment = Moment(at, evaluator, world.book.last_sequence)
        contributions = bare.window.contributions
        for event_id in {contributions[0].event_id, contributions[-1].event_id}:
            found = []
            for together in (True, False):
                with nullcontext() if together else _one_by_one_decided():
                    step = correlator.dispatcher.dispatch(
                        TOKEN, bare, moment, resend=True, trigger=Trigger(event_id)
                    )
                alerts = [
                    (
                        p.partnership_id,
                        p.alert_id,
                        opened(world, p, p.partnership_id).body.to_bytes(),
                    )
                    for p in step.pending
                ]
                found.append((step.state, step.decisions, step.counted, alerts))
            assert found[0] == found[1]


def _states(place: World, correlator: Correlator, history: Sequence[Item]) -> list[Any]:
    """Each event's state over the history (no ticks), with its moment's time."""
    evaluator = Evaluator(place.book, place.registry)
    state, found = SubjectState(), []
    for item in sorted(history, key=lambda i: (i.arrived, i.n)):
        at = START + item.arrived
        moment = Moment(at, evaluator, place.book.last_sequence)
        folded = correlator.fold(encode(correlator.store, item), state, moment)
        if folded is not None:
            state = folded.step.state
            found.append((state, at))
    return found


def test_a_consent_change_is_decided_as_one_by_one(
    world: World,  # noqa: F811  # the fixture
) -> None:
    """A consent event decides only the partnerships whose sight it changes, each by its own
    sight before (:meth:`~hub.rounds.Round.decide_all` leaves it to
    :meth:`~hub.rounds.Round.decide`). West Berkshire's events are Reading's too (a
    neighbour): with the engagement's consent granted to Reading as well, both see the same
    events, a flag among them, and hold none (a partnership added since, say); only Reading
    saw less before, so only Reading is told."""
    at = datetime(2026, 12, 1, tzinfo=UTC)
    evaluator = Evaluator(world.book, world.registry)

    def event(n: int, agency: str, event_type: str) -> Contribution:
        return Contribution(
            event_id=f"c{n}",
            event_type=event_type,
            agency_id=agency,
            occurred_at=at - timedelta(days=10 - n),
            council="E06000037",
            age=15,
        )

    def grant(*recipients: str) -> ConsentGrant:
        return ConsentGrant(
            consent_id=f"c-{len(recipients)}",
            subject_token=TOKEN,
            purpose=Purpose.EARLY_INTERVENTION,
            provider="voluntary-sector",
            recipients=frozenset(recipients),
            given_at=at - timedelta(days=5),
        )

    window = SubjectWindow(
        contributions=(
            event(0, "police", "police.weapon_possession"),
            event(1, "education", "education.suspension"),
            event(2, "voluntary-sector", "voluntary.engagement"),
        )
    )
    before = ConsentBook([grant("west-berkshire")])
    moment = Moment(
        at,
        evaluator,
        world.book.last_sequence,
        consent=ConsentBook([grant("west-berkshire", "reading")]),
    )
    trigger = Trigger(consent_before=before)  # type: ignore[arg-type]  # a view, as a ledger
    found = []
    for together in (True, False):
        with nullcontext() if together else _one_by_one_decided():
            step = world.correlator.dispatcher.dispatch(
                TOKEN, SubjectState(window=window), moment, trigger=trigger
            )
        found.append(
            (step.state, step.decisions, [(p.partnership_id, p.alert_id) for p in step.pending])
        )
    assert found[0] == found[1]
    assert {pid for pid, _ in found[1][2]} == {"reading"}  # not vacuous: Reading is told
