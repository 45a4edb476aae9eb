"""Expiry floors at the service: a tick that drops nothing changes nothing, and an event
more than the rules' horizon late moves no flag (``docs/rules.md``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.alerts import AlertKind
from hub.config import Settings
from hub.correlation import Outcome, Received
from hub.crypto.record import Kind
from hub.crypto.tablevalue import value_of
from hub.dispatch import SubjectState
from hub.flags import Contribution, contribution_of, episodes
from hub.models import read_accepted
from tests.integration.events import token_for
from tests.unit.correlation.builders import (
    NOW,
    Hub,
    in_partition,
    item,
    scenario,
    settings_in,
)

PARTITION = 0


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_in(tmp_path_factory.mktemp("floors"))


def events(items: list[bytes], offset: int = 10) -> Received:
    return Received(Kind.EVENTS, tuple(items), NOW, PARTITION, offset)


def state_of(hub: Hub, seed: int) -> SubjectState:
    return SubjectState.from_bytes(value_of(hub.subjects[token_for(seed).encode()]).value)


async def test_a_tick_that_drops_nothing_writes_no_row_and_records_no_decision(
    settings: Settings,
) -> None:
    """Later ticks, while every event is inside the horizon and no flag's window ends: the
    flagged subject is re-decided, and its row, the outbox and the ledger are left alone."""
    hub = Hub(settings)
    [seed] = in_partition(PARTITION, 1)
    await hub.run(events(scenario(seed)))
    stored = dict(hub.subjects)
    for days, offset in ((1, 11), (30, 12)):  # the earliest flag ends 52 days after NOW
        at = NOW + timedelta(days=days)
        tick = await hub.run(Received(Kind.TICK, (), at, PARTITION, offset))
        assert tick.outcome == Outcome("tick", policy=hub.last, subjects_read=1)
        assert (tick.outbox, tick.decisions, tick.rows) == ((), (), ())
    assert hub.subjects == stored
    later = NOW + timedelta(days=120)  # past every window: the events are dropped
    expired = await hub.run(Received(Kind.TICK, (), later, PARTITION, 13))
    assert expired.outcome.subjects_changed == 1
    assert {body.kind for _, _, body in hub.alerts(expired)} == {AlertKind.EXPIRED}
    assert state_of(hub, seed).window.contributions == ()


async def test_an_event_older_than_the_horizon_moves_no_flag(settings: Settings) -> None:
    """A missing episode 95 days old arrives after the scenario's flags were raised. As a
    candidate it would anchor a child-exploitation window reaching past the live flag's
    anchor (a greedy episode that blocks it), so every view would retract the flag; below
    the floors it changes nothing, and the expiry after its dispatch drops it."""
    hub = Hub(settings)
    [seed] = in_partition(PARTITION, 1, first=40)
    first = await hub.run(events(scenario(seed)))
    raised = {(pid, body.rule.id) for pid, _, body in hub.alerts(first)}
    assert ("reading", "child-exploitation") in raised
    before = state_of(hub, seed)
    late = item("csc.missing_episode", "childrens-social-care", seed, 95, n=9)
    rules = hub.service.wiring.correlator.dispatcher.rules
    rule = rules.get("child-exploitation")
    window = before.window.add(_contribution(hub, late))
    anchors = [e.anchor for e in episodes(rule, window.contributions, None)]
    assert anchors == [window.contributions[0].occurred_at]  # the late one, and only it
    result = await hub.run(events([late], offset=11))
    assert hub.alerts(result) == []
    after = state_of(hub, seed)
    assert (after.held, after.window.contributions) == (before.held, before.window.contributions)


def _contribution(hub: Hub, value: bytes) -> Contribution:
    correlator = hub.service.wiring.correlator
    event = read_accepted(correlator.store, value)
    council = correlator.areas.council(event.envelope.lsoa)
    found = contribution_of(event, council, correlator.dispatcher.rules)
    assert found is not None
    return found
