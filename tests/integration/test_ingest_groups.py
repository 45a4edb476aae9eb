"""Ingest in groups on the real broker: a worker SIGKILLed while groups of feed records are in
flight loses no event and accepts none twice as a duplicate.

The feed keeps arriving in bursts while the worker runs, so ingest reads several records at a
time; the worker is killed once part of the feed is accepted and started again. Every event
must end accepted (a group that was read but not acknowledged is read again and accepted
again at the same positions, never refused as ``duplicate_event``), and some accepted record
must carry events of several feed records (the groups were real).
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from aiokafka.structs import ConsumerRecord

from hub.config import Settings
from hub.process import stop_process
from tests.integration.events import READING_LSOA, accepted_ids, batch_record, record
from tests.integration.flows import prepare, worker
from tests.integration.kafka import produce, read_to_end, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

RECORDS = 60
EVENTS_PER_RECORD = 5
BURST = 10


def feed_records(s: Settings) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    """Batch records of police events, each event a subject of its own."""
    return [
        (
            batch_record(
                s,
                "police",
                [
                    ("police.arrest", record("police.arrest", "police", READING_LSOA, seed))
                    for seed in range(n * EVENTS_PER_RECORD, (n + 1) * EVENTS_PER_RECORD)
                ],
            ),
            [],
        )
        for n in range(RECORDS)
    ]


async def feed_in_bursts(
    s: Settings, records: list[tuple[bytes, list[tuple[str, bytes]]]], halfway: asyncio.Event
) -> None:
    """Send ``records`` in bursts; ``halfway`` is set when half of them are sent."""
    for start in range(0, len(records), BURST):
        await produce(s, s.feed_topic("police"), records[start : start + BURST])
        if start + BURST >= len(records) // 2:
            halfway.set()
        await asyncio.sleep(0.2)


def grouped(accepted: list[ConsumerRecord[bytes, bytes]]) -> bool:
    """Whether some accepted record holds events of several feed records."""
    return any(b"," in dict(r.headers).get("vru-source", b"") for r in accepted)


async def test_a_worker_killed_mid_group_loses_and_duplicates_no_event(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    records = feed_records(s)
    expected = {
        record("police.arrest", "police", READING_LSOA, seed)["envelope"]["event_id"]
        for seed in range(RECORDS * EVENTS_PER_RECORD)
    }
    await produce(s, s.feed_topic("police"), records[:BURST])  # a backlog: the first groups
    proc = worker(s, tmp_path / "worker-0.log")
    halfway = asyncio.Event()
    feeding: asyncio.Task[None] | None = None
    try:
        await wait_for(s, [s.accepted_topic], lambda r: len(accepted_ids(r)) > 0, timeout_s=60)
        feeding = asyncio.create_task(feed_in_bursts(s, records[BURST:], halfway))
        await asyncio.wait_for(halfway.wait(), 30)
        os.kill(proc.pid, signal.SIGKILL)  # while the worker ingests the bursts
        proc.wait(timeout=10)
        before = set(accepted_ids(await read_to_end(s, [s.accepted_topic])))
        proc = worker(s, tmp_path / "worker-1.log")  # reads what was left unacknowledged
        await feeding
        accepted = await wait_for(
            s, [s.accepted_topic], lambda r: set(accepted_ids(r)) >= expected, timeout_s=90
        )
    finally:
        if feeding is not None:
            feeding.cancel()
        assert stop_process(proc) == 0
    quarantined = await read_to_end(s, [s.quarantine_topic])
    assert before < expected  # the kill came before the whole feed was accepted
    assert set(accepted_ids(accepted)) == expected
    assert quarantined == []  # no event refused, as a duplicate or otherwise
    assert grouped(accepted)
