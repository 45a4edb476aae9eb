"""Floors that stay put decide exactly as floors that follow the clock, for events that
arrive within the horizon: the same alerts, decision records, flags held, retraction counts,
partnership floors and contributions at every event and every daily tick (random timelines
of one subject). Only the window's floors differ, and so whether a tick changed the state.

Floors that followed the clock (every expiry raised every rule's floor to the cut) were the
hub's rule until the ``domain12`` branch, and the backtest's until ``backtest13``; no code
keeps them now, so they are modelled here (:class:`FloorsFollowTheClock`). The comparison
stays because rows written under that rule (floors at their last tick's cut) are still read
and decided by the worker (``docs/state-recovery.md``), and it shows they decide the same.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest

from hub.alerts.headers import CE_TYPE
from hub.config import Settings
from hub.correlate import Correlator
from hub.dispatch import Dispatcher, Moment, Step, SubjectState
from hub.flags import SubjectWindow, floored
from hub.models.built import replaced
from tests.integration.events import token_for
from tests.unit.correlation.builders import NOW, Hub, item, settings_in

KINDS = (
    ("csc.missing_episode", "childrens-social-care", None),
    ("csc.exploitation_screening", "childrens-social-care", {"exploitation_type": "CRIMINAL"}),
    ("police.weapon_possession", "police", None),
    ("education.suspension", "education", None),
)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Hub:
    settings: Settings = settings_in(tmp_path_factory.mktemp("floors-equal"))
    return Hub(settings)


def _timeline(seed: int, late: int = 20) -> list[tuple[datetime, bytes | None]]:
    """Events over 300 days, each arriving 0 to ``late`` days after it occurred, and a tick
    every day from the first arrival to 120 days after the last event (None: a tick)."""
    rng = random.Random(seed)  # the subject is always SEED's
    start = NOW - timedelta(days=300)
    moments: list[tuple[datetime, bytes | None]] = []
    for n in range(rng.randint(6, 20)):
        event_type, agency, fields = rng.choice(KINDS)
        occurred = rng.uniform(0, 300)
        arrives = start + timedelta(days=occurred + rng.uniform(0, late))
        value = item(event_type, agency, SEED, 300 - occurred, n=n, fields=fields)
        moments.append((arrives, value))
    first = min(at for at, _ in moments)
    moments += [(first + timedelta(days=d), None) for d in range(1, 440)]
    return sorted(moments, key=lambda m: (m[0], m[1] is None))


def _step(
    correlator: Correlator, hub: Hub, state: SubjectState, at: datetime, value: bytes | None
) -> Step:
    """An event's fold, or (None) a tick's rescan of the subject, at ``at``."""
    moment = hub.service.moments.at(0, at, 0)
    if value is None:
        return correlator.rescan(token_for(SEED), state, moment)
    folded = correlator.fold(value, state, moment)
    assert folded is not None
    return folded.step


def _same_but_floors(state: SubjectState, before: SubjectState) -> bool:
    """Whether only the window's floors changed."""
    return state.window.contributions == before.window.contributions and (
        state.held,
        state.closed,
        state.floors,
        state.consent,
    ) == (before.held, before.closed, before.floors, before.consent)


SEED = 7


@dataclass(frozen=True, slots=True)
class FloorsFollowTheClock(Dispatcher):
    """The rule before floors stayed put: a trim that drops nothing still raises every rule's
    floor to the cut (a trim that drops something is the same under both)."""

    def trim(self, token: str, state: SubjectState, moment: Moment) -> SubjectState:
        trimmed = Dispatcher.trim(self, token, state, moment)  # not super(): slots
        if trimmed is not state:
            return trimmed
        window = state.window
        floors = floored(self.rules, window, moment.at - self.rules.horizon)
        if floors == window.floors:
            return state
        raised = SubjectWindow(contributions=window.contributions, floors=floors)
        return replaced(state, window=raised)


def test_floors_that_stay_put_decide_as_floors_that_follow_the_clock(hub: Hub) -> None:
    kinds: Counter[str] = Counter()
    changed = 0
    for seed in range(10):
        changed += _compare(hub, seed, kinds)
    assert kinds["raised"]
    assert kinds["expired"]  # by ticks
    assert changed  # ticks that dropped events or closed flags


def _compare(hub: Hub, seed: int, kinds: Counter[str]) -> int:
    """One timeline under both: the ticks whose rescan changed the state."""
    live = hub.service.wiring.correlator
    dispatcher = live.dispatcher
    old = replace(live, dispatcher=FloorsFollowTheClock(dispatcher.rules, dispatcher.recipients))
    timeline = _timeline(seed)
    kept, moved = SubjectState(), SubjectState()
    changed = 0
    for at, value in timeline:
        new_step = _step(live, hub, kept, at, value)
        old_step = _step(old, hub, moved, at, value)
        assert [(p.partnership_id, p.alert_id) for p in new_step.pending] == [
            (p.partnership_id, p.alert_id) for p in old_step.pending
        ]
        assert new_step.decisions == old_step.decisions
        new, before = new_step.state, kept
        assert _same_but_floors(new, old_step.state)
        if value is None:
            unchanged = not new_step.pending and new == before
            assert unchanged == (not old_step.pending and _same_but_floors(old_step.state, moved))
            changed += not unchanged
        kinds.update(dict(p.headers)[CE_TYPE].decode().rsplit(".", 1)[-1] for p in new_step.pending)
        kept, moved = new, old_step.state
    return changed


def test_a_backtests_dispatcher_holds_the_workers_state_and_counts_what_it_records(
    hub: Hub,
) -> None:
    """Events arriving up to 150 days after they occurred (a backfill, some past the
    horizon): the backtest's dispatcher (no ledger) sends the alerts the worker sends, holds
    the same state, floors included, and counts the decisions the worker records, at every
    event and tick; a tick changes its state exactly when it changes the worker's."""
    live = hub.service.wiring.correlator
    dispatcher = live.dispatcher
    backtest = replace(
        live, dispatcher=Dispatcher(dispatcher.rules, dispatcher.recipients, ledger=False)
    )
    late = quiet = 0
    for seed in range(60):
        kept, counted = SubjectState(), SubjectState()
        for at, value in _timeline(seed, late=150):
            worker_step = _step(live, hub, kept, at, value)
            backtest_step = _step(backtest, hub, counted, at, value)
            assert [p.alert_id for p in backtest_step.pending] == [
                p.alert_id for p in worker_step.pending
            ]
            assert backtest_step.state == worker_step.state
            assert list(backtest_step.outcomes()) == list(worker_step.outcomes())
            assert (backtest_step.state == counted) == (worker_step.state == kept)
            late += value is not None and len(worker_step.state.window) < len(kept.window) + 1
            quiet += value is None and worker_step.state == kept and worker_step.state.sent
            kept, counted = worker_step.state, backtest_step.state
    assert late  # some events arrived past the horizon (dropped by their own dispatch)
    assert quiet  # ticks of flagged subjects that changed nothing (the worker records none)
