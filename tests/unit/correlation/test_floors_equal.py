"""Floors that stay put decide exactly as floors that follow the clock, for events that
arrive within the horizon: the same alerts, decision records, flags held, retraction counts,
partnership floors and contributions at every event and every daily tick (random timelines
of one subject). Only the window's floors differ, and so whether a tick changed the state."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from hub.alerts.headers import CE_TYPE
from hub.config import Settings
from hub.correlate import Correlator
from hub.dispatch import Dispatcher, Step, SubjectState
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


def _timeline(seed: int) -> list[tuple[datetime, bytes | None]]:
    """Events over 300 days, each arriving 0 to 20 days after it occurred, and a tick every
    day from the first arrival to 120 days after the last event (None: a tick)."""
    rng = random.Random(seed)  # the subject is always SEED's
    start = NOW - timedelta(days=300)
    moments: list[tuple[datetime, bytes | None]] = []
    for n in range(rng.randint(6, 20)):
        event_type, agency, fields = rng.choice(KINDS)
        occurred = rng.uniform(0, 300)
        arrives = start + timedelta(days=occurred + rng.uniform(0, 20))
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
    clocked = Dispatcher(dispatcher.rules, dispatcher.recipients, floors_follow_clock=True)
    old = replace(live, dispatcher=clocked)
    assert not live.dispatcher.follows_clock
    assert old.dispatcher.follows_clock
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
