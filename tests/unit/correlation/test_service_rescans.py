"""The correlation service's rescans over dict tables: ticks re-decide the flagged subjects
(read from the index of flagged subjects it keeps, rebuilt after a recovery), and a rescan
lets the event loop run between subjects and decides as one without a break would.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from hub.alerts import AlertKind
from hub.config import Settings
from hub.correlation import Outcome, Received
from hub.correlation import service as service_module
from hub.crypto.record import Kind
from tests.integration.events import token_for
from tests.unit.correlation.builders import (
    NOW,
    Hub,
    decisions,
    events,
    in_partition,
    item,
    kinds,
    scenario,
    settings_in,
)

PARTITION = 0


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_in(tmp_path_factory.mktemp("correlation"))


async def test_a_tick_re_decides_flagged_subjects_only(settings: Settings) -> None:
    hub = Hub(settings)
    flagged, plain = in_partition(PARTITION, 2)
    noise = item("csc.referral", "childrens-social-care", plain, 3)  # in no rule
    await hub.run(events([*scenario(flagged), noise]))
    same = await hub.run(Received(Kind.TICK, (), NOW, PARTITION, 11))
    assert same.outcome == Outcome("tick", policy=hub.last, subjects_read=1)  # the flagged one
    assert (same.outbox, same.rows) == ((), ())
    later = NOW + timedelta(days=120)  # past every window of the events
    expired = await hub.run(Received(Kind.TICK, (), later, PARTITION, 12))
    assert expired.outcome.subjects_changed == 1
    assert {kind for _, _, kind in kinds(hub, expired)} == {AlertKind.EXPIRED}
    assert [r.key for r in expired.rows] == [token_for(flagged).encode()]


async def test_a_tick_reads_the_flagged_subjects_it_indexed_and_decides_as_a_full_scan(
    settings: Settings,
) -> None:
    """The first tick scans the table and keeps the flagged subjects; later ticks read only
    those (and any flagged since), and decide exactly what a full scan decides."""
    hub = Hub(settings)
    first, plain, second = in_partition(PARTITION, 3)
    noise = item("csc.referral", "childrens-social-care", plain, 3)  # in no rule
    await hub.run(events([*scenario(first), noise]))
    await hub.run(Received(Kind.TICK, (), NOW, PARTITION, 11))
    assert hub.service.flagged.of(PARTITION) == {token_for(first)}
    await hub.run(events(scenario(second), offset=12))  # flagged after the scan: noted
    assert hub.service.flagged.of(PARTITION) == {token_for(first), token_for(second)}
    scanned = Hub(settings, subjects=dict(hub.subjects))  # a fresh worker: a full scan
    later = NOW + timedelta(days=120)  # past every window of the events
    indexed = await hub.run(Received(Kind.TICK, (), later, PARTITION, 13))
    full = await scanned.run(Received(Kind.TICK, (), later, PARTITION, 13))
    assert indexed.outcome.subjects_changed == 2
    assert hub.alerts(indexed) == scanned.alerts(full)  # (the outbox is encrypted afresh)
    assert (decisions(indexed), indexed.rows) == (decisions(full), full.rows)


async def test_rows_recovered_behind_the_service_are_found_once_it_is_invalidated(
    settings: Settings,
) -> None:
    """A flagged subject's row that arrives by table recovery is not in the index: the
    recovery invalidates it, and the next tick scans in full again."""
    hub = Hub(settings)
    await hub.run(Received(Kind.TICK, (), NOW, PARTITION, 1))  # the index: nothing flagged
    other = Hub(settings)
    seed = in_partition(PARTITION, 1)[0]
    await other.run(events(scenario(seed)))
    hub.subjects.update(other.subjects)  # as the changelog's recovery would
    hub.service.flagged.invalidate()  # what the table's on_recovered does
    later = NOW + timedelta(days=120)
    expired = await hub.run(Received(Kind.TICK, (), later, PARTITION, 2))
    assert expired.outcome.subjects_changed == 1
    assert {kind for _, _, kind in kinds(hub, expired)} == {AlertKind.EXPIRED}


async def test_rows_recovered_behind_the_service_are_indexed_from_the_recovered_rows(
    settings: Settings,
) -> None:
    """What the table's on_recovered does: the index is rebuilt from the rows, as a full
    scan would find it, and the next tick reads only the flagged subjects and decides as a
    full scan does."""
    other = Hub(settings)
    flagged, plain = in_partition(PARTITION, 2)
    noise = item("csc.referral", "childrens-social-care", plain, 3)  # in no rule
    await other.run(events([*scenario(flagged), noise]))
    hub = Hub(settings)
    await hub.run(Received(Kind.TICK, (), NOW, PARTITION, 1))  # the index: nothing flagged
    hub.subjects.update(other.subjects)  # as the changelog's recovery would
    await hub.service.rebuild_flagged()
    assert hub.service.flagged.of(PARTITION) == {token_for(flagged)}
    assert all(hub.service.flagged.of(n) == set() for n in range(1, settings.partitions))
    scanned = Hub(settings, subjects=dict(hub.subjects))
    scanned.service.flagged.invalidate()  # a worker that never indexed: a full scan
    later = NOW + timedelta(days=120)
    indexed = await hub.run(Received(Kind.TICK, (), later, PARTITION, 2))
    full = await scanned.run(Received(Kind.TICK, (), later, PARTITION, 2))
    assert indexed.outcome.subjects_read == 1
    assert indexed.outcome.subjects_changed == 1
    assert hub.alerts(indexed) == scanned.alerts(full)
    assert (decisions(indexed), indexed.rows) == (decisions(full), full.rows)


async def test_an_empty_recovered_table_is_indexed_without_reading_a_row(
    settings: Settings,
) -> None:
    hub = Hub(settings)
    hub.service.flagged.invalidate()
    await hub.service.rebuild_flagged()
    assert all(hub.service.flagged.of(n) == set() for n in range(settings.partitions))


async def test_a_rebuild_lets_the_event_loop_run_between_rows(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large table after a restart takes seconds to read: the rebuild yields as it goes
    (faust's heartbeats run meanwhile) and finds what an unbroken one finds."""
    other = Hub(settings)
    seeds = in_partition(PARTITION, 3)
    await other.run(events([e for s in seeds for e in scenario(s)]))
    hub = Hub(settings, subjects=dict(other.subjects))
    ran: list[int] = []

    async def beside() -> None:
        while True:
            ran.append(1)
            await asyncio.sleep(0)

    monkeypatch.setattr(service_module, "RESCAN_SLICE_S", 0.0)  # yield before every row
    other_task = asyncio.create_task(beside())
    await asyncio.sleep(0)
    before = len(ran)
    await hub.service.rebuild_flagged()
    other_task.cancel()
    assert len(ran) - before >= len(seeds)
    assert hub.service.flagged.of(PARTITION) == {token_for(s) for s in seeds}


async def test_a_full_scan_overtaken_by_a_recovery_does_not_store_what_it_found(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tick's full scan yields to the loop; if the table is recovered meanwhile, the rows
    it read are stale, so its set is not kept (the next tick scans in full again)."""
    other = Hub(settings)
    seeds = in_partition(PARTITION, 3)
    await other.run(events([e for s in seeds for e in scenario(s)]))
    hub = Hub(settings, subjects=dict(other.subjects))
    hub.service.flagged.invalidate()  # a worker that never indexed: the tick scans in full

    async def recovered() -> None:
        await asyncio.sleep(0)
        hub.service.flagged.invalidate()  # what a completed recovery does first

    monkeypatch.setattr(service_module, "RESCAN_SLICE_S", 0.0)  # yield before every subject
    recovery = asyncio.create_task(recovered())
    result = await hub.run(Received(Kind.TICK, (), NOW, PARTITION, 40))
    await recovery
    assert result.outcome.subjects_read == len(seeds)
    assert hub.service.flagged.of(PARTITION) is None
    unbroken = await hub.run(Received(Kind.TICK, (), NOW, PARTITION, 41))
    assert hub.service.flagged.of(PARTITION) == {token_for(s) for s in seeds}
    assert unbroken.outcome.subjects_read == len(seeds)


async def test_a_recovered_row_that_does_not_read_leaves_the_next_tick_a_full_scan(
    settings: Settings,
) -> None:
    hub = Hub(settings)
    await hub.run(Received(Kind.TICK, (), NOW, PARTITION, 1))
    assert hub.service.flagged.of(PARTITION) == set()
    hub.subjects[b"lt1:not-a-sealed-value"] = b"garbage"
    await hub.service.rebuild_flagged()
    assert hub.service.flagged.of(PARTITION) is None


async def test_a_rescan_lets_the_event_loop_run_and_decides_the_same(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tick whose work outlasts its slice yields to the loop between subjects (another
    task runs meanwhile) and decides exactly what an unbroken tick decides."""
    seeds = in_partition(PARTITION, 3)
    whole = Hub(settings)
    await whole.run(events([e for s in seeds for e in scenario(s)]))
    sliced = Hub(settings, subjects=dict(whole.subjects))
    sliced.service.flagged.invalidate()
    whole.service.flagged.invalidate()
    later = NOW + timedelta(days=120)
    unbroken = await whole.run(Received(Kind.TICK, (), later, PARTITION, 40))
    ran: list[int] = []

    async def beside() -> None:
        while True:
            ran.append(1)
            await asyncio.sleep(0)

    monkeypatch.setattr(service_module, "RESCAN_SLICE_S", 0.0)  # yield before every subject
    other = asyncio.create_task(beside())
    await asyncio.sleep(0)
    before = len(ran)
    broken = await sliced.run(Received(Kind.TICK, (), later, PARTITION, 40))
    other.cancel()
    assert len(ran) - before >= len(seeds)  # the loop ran between the subjects
    assert broken.outcome == unbroken.outcome
    assert broken.outcome.subjects_changed == len(seeds)
    assert sliced.alerts(broken) == whole.alerts(unbroken)
    assert (decisions(broken), broken.rows) == (decisions(unbroken), unbroken.rows)
