"""Hostile input on the real broker and worker: each case ends with a clear, checked outcome.

* oversized messages: quarantined (``decode_error`` for bytes that are no event, recorded
  without their bytes when they are too large to keep; ``invalid_field`` for a well-formed,
  sealed event with an oversized field), and the worker carries on;
* events far in the future or the past: ``event_in_future`` / ``event_too_old``;
* an agency clock that goes backwards, and events sent newest first: accepted, and the flags
  are the ones the same events imply in time order;
* a flood from one agency: every flood message is handled and another agency's events still
  get through; the test prints how the flood changed their latency (``docs/reliability.md``).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka.structs import ConsumerRecord

from hub.config import Settings
from hub.process import stop_process
from hub.quarantine import QuarantineRecord
from hub.transport import kafka_endpoint, new_consumer, new_producer
from tests.integration.events import (
    OXFORDSHIRE_LSOA,
    READING_LSOA,
    STORE,
    Message,
    accepted_ids,
    one,
    record,
    sealed,
    token_for,
)
from tests.integration.flows import SCENARIO, prepare, worker
from tests.integration.kafka import consume, produce, wait_for
from tests.integration.test_restart import delivered_flags, expected_flags

pytestmark = pytest.mark.integration

BIG = 900 * 1024
Records = list[ConsumerRecord[bytes, bytes]]


def reasons(records: Records) -> Counter[str]:
    return Counter(QuarantineRecord.from_bytes(r.value or b"").reason for r in records)


def oversized_valid(settings: Settings, seed: int) -> Message:
    """A well-formed, sealed voluntary-sector event whose consent reference is 600 KiB."""
    rec = record("voluntary.engagement", "voluntary-sector", READING_LSOA, seed)
    rec["consent_reference"] = "x" * (600 * 1024)
    return sealed(settings, "voluntary-sector", [("voluntary.engagement", rec)])[0]


def garbage(size: int, seed: int) -> Message:
    """``size`` random bytes behind a real writer fingerprint: no event, but it reaches Avro."""
    fingerprint = STORE.fingerprint("police.arrest")
    return (b"\xc3\x01" + fingerprint + random.Random(seed).randbytes(size), [])


@pytest.mark.timeout(150)
async def test_oversized_and_untimely_inputs_are_quarantined_and_the_worker_carries_on(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    now = datetime.now(UTC)
    later = now + timedelta(days=2)
    future = one(s, "police.arrest", "police", READING_LSOA, 11, occurred_at=later,
                 recorded_at=later)  # fmt: skip
    past = one(s, "police.arrest", "police", READING_LSOA, 12,
               occurred_at=datetime(1990, 1, 1, tzinfo=UTC),
               recorded_at=datetime(1990, 1, 2, tzinfo=UTC))  # fmt: skip
    good = one(s, "police.arrest", "police", READING_LSOA, 13)
    await produce(s, s.feed_topic("police"), [garbage(BIG, 1), future, past])
    await produce(s, s.feed_topic("voluntary-sector"), [oversized_valid(s, 14)])
    await produce(s, s.feed_topic("police"), [good])
    proc = worker(s, tmp_path / "worker.log")
    try:
        quarantined = await consume(s, [s.quarantine_topic], until=4, timeout_s=60)
        # The four bad inputs are quarantined (a known end), so the good one is all that can come.
        accepted = await wait_for(s, [s.accepted_topic], lambda r: bool(accepted_ids(r)))
        assert proc.poll() is None
    finally:
        assert stop_process(proc) == 0
    assert reasons(quarantined) == Counter(
        {"decode_error": 1, "invalid_field": 1, "event_in_future": 1, "event_too_old": 1}
    )
    records = {
        r.reason: r for r in map(QuarantineRecord.from_bytes, (q.value for q in quarantined))
    }
    big = records["decode_error"]
    assert (big.original_omitted, big.original_size, big.original) == (True, BIG + 10, b"")
    assert big.source.topic == s.feed_topic("police")
    assert "consent_reference" in records["invalid_field"].detail
    assert not records["event_in_future"].original_omitted
    assert max(len(q.value or b"") for q in quarantined) < 1_000_000
    assert len(accepted_ids(accepted)) == 1
    assert "Crashed" not in (tmp_path / "worker.log").read_text(errors="replace")


# -- an agency clock that goes backwards -------------------------------------------------------


def backwards(settings: Settings, subject: int, lsoa: str) -> list[tuple[str, Message]]:
    """The flow scenario for ``subject``, sent newest first, each recorded earlier than the last.

    The agency's clock runs backwards by an hour per event, and the events arrive in the
    reverse of the order they happened in.
    """
    now = datetime.now(UTC)
    out = []
    for n, (event_type, agency, fields) in reversed(list(enumerate(SCENARIO))):
        occurred = now - timedelta(days=10 - n)
        recorded = now - timedelta(hours=1 + (len(SCENARIO) - n))
        rec = record(
            event_type,
            agency,
            lsoa,
            subject * 100 + n,
            occurred=occurred,
            fields=fields,
            recorded_at=recorded,
            subject_token=token_for(subject),
        )
        out.append((agency, sealed(settings, agency, [(event_type, rec)])[0]))
    return out


@pytest.mark.timeout(180)
async def test_a_clock_going_backwards_loses_no_flag(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    feed = [
        m for n in range(4) for m in backwards(s, 500 + n, (READING_LSOA, OXFORDSHIRE_LSOA)[n % 2])
    ]
    sent_order = expected_flags(s, [(a, m[0]) for a, m in feed])
    time_order = expected_flags(s, [(a, m[0]) for a, m in reversed(feed)])
    assert sent_order == time_order, "flags must not depend on arrival order"
    for agency, message in feed:
        await produce(s, s.feed_topic(agency), [message])
    proc = worker(s, tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and (await delivered_flags(s))[0] != time_order:  # noqa: ASYNC110  # polls topics another process writes
            await asyncio.sleep(2)
    finally:
        assert stop_process(proc) == 0
    delivered, _, gaps = await delivered_flags(s)
    quarantined = await consume(s, [s.quarantine_topic], until=1, timeout_s=2)
    assert time_order
    assert (delivered, gaps, quarantined) == (time_order, [], [])


# -- a flood from one agency -------------------------------------------------------------------

FLOOD = 6_000
PROBES = 10
PROBE_EVERY_S = 0.25


def flood(settings: Settings, kind: str) -> list[Message]:
    """FLOOD police messages: valid events about distinct people sealed in batches of 256, or
    junk (random bytes behind a real fingerprint, each one a ``decode_error``)."""
    if kind == "junk":
        return [garbage(200, n) for n in range(FLOOD)]
    items = [
        ("police.stop_search", record("police.stop_search", "police", READING_LSOA, 10_000 + n))
        for n in range(FLOOD)
    ]
    return [m for k in range(0, FLOOD, 256) for m in sealed(settings, "police", items[k : k + 256])]


async def send_fast(settings: Settings, topic: str, messages: list[Message]) -> None:
    producer = new_producer(kafka_endpoint(settings), acks="all", linger_ms=5)
    await producer.start()
    try:
        for value, headers in messages:
            await producer.send(topic, value, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()


async def arrivals(settings: Settings, seen: dict[str, float], stop: asyncio.Event) -> None:
    """Record when each accepted event id, or each quarantine record, shows up."""
    consumer = new_consumer(
        kafka_endpoint(settings),
        settings.accepted_topic,
        settings.quarantine_topic,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=50)
            now = time.monotonic()
            for tp, records in batch.items():
                if tp.topic == settings.quarantine_topic:
                    seen.update({f"quarantined:{r.partition}:{r.offset}": now for r in records})
                    continue
                for event_id in accepted_ids(records):
                    seen.setdefault(event_id, now)
    finally:
        await consumer.stop()


async def probe(settings: Settings, seed: int, seen: dict[str, float]) -> float:
    """Send one education event; seconds until it is on the accepted topic."""
    message = one(settings, "education.suspension", "education", OXFORDSHIRE_LSOA, seed)
    event_id = STORE.decode(message[0]).record["envelope"]["event_id"]
    started = time.monotonic()
    await produce(settings, settings.feed_topic("education"), [message])
    while event_id not in seen:  # noqa: ASYNC110  # set by the arrivals task
        await asyncio.sleep(0.005)
    return seen[event_id] - started


async def probes(settings: Settings, first_seed: int, seen: dict[str, float]) -> list[float]:
    tasks = []
    for n in range(PROBES):
        tasks.append(asyncio.create_task(probe(settings, first_seed + n, seen)))
        await asyncio.sleep(PROBE_EVERY_S)
    return list(await asyncio.gather(*tasks))


def ms(values: list[float]) -> str:
    return f"median {1000 * statistics.median(values):.0f} ms, max {1000 * max(values):.0f} ms"


@pytest.mark.timeout(240)
@pytest.mark.parametrize("kind", ["valid", "junk"])
async def test_a_flood_from_one_agency_is_all_handled_and_others_get_through(
    hub_settings: Settings, tmp_path: Path, kind: str
) -> None:
    s = hub_settings
    await prepare(s)
    messages = flood(s, kind)
    seen: dict[str, float] = {}
    stop = asyncio.Event()
    watcher = asyncio.create_task(arrivals(s, seen, stop))
    proc = worker(s, tmp_path / "worker.log")
    try:
        await asyncio.wait_for(probe(s, 900, seen), timeout=90)  # the worker is up and flowing
        idle = await asyncio.wait_for(probes(s, 910, seen), timeout=60)
        started = time.monotonic()
        sending = asyncio.create_task(send_fast(s, s.feed_topic("police"), messages))
        await asyncio.sleep(0.5)
        during = await asyncio.wait_for(probes(s, 930, seen), timeout=120)
        await sending
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(seen) < FLOOD + 1 + 2 * PROBES:  # noqa: ASYNC110  # set by the arrivals task
            await asyncio.sleep(0.2)
        drained = time.monotonic() - started
    finally:
        stop.set()
        await watcher
        assert stop_process(proc) == 0
    quarantined = await consume(s, [s.quarantine_topic], until=FLOOD, timeout_s=5)
    print(  # noqa: T201  # figures for docs/reliability.md
        f"flood ({kind}): {FLOOD} police messages handled in {drained:.1f}s "
        f"({FLOOD / drained:.0f}/s); education latency idle: {ms(idle)}; "
        f"during the flood: {ms(during)}"
    )
    assert len(seen) == FLOOD + 1 + 2 * PROBES
    wanted = Counter({"decode_error": FLOOD}) if kind == "junk" else Counter()
    assert reasons(quarantined) == wanted
