"""When has the hub finished with the load, and when did it write its last output?

Done means: the workers' group has committed, on every feed partition, the offset just past
the last message sent there, and on its internal topics (accepted, outbox) there is no record
at or after the committed offset. faust flushes a record's outputs before it commits the
record, so once that holds nothing more is coming. Commits lag by faust's commit interval, so
the *end time* is not the moment this is noticed: it is the newest CreateTime among every
record the hub wrote (accepted events, table changelogs, outbox, decisions, alerts,
quarantine), read back after the run.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from hub.alerts.headers import CE_TYPE, HEARTBEAT_TYPE
from hub.config import Settings
from hub.crypto.record import parse
from hub.errors import MalformedRecordError
from hub.registry import Registry
from hub.topics import WORKER_TABLES
from hub.transport import KafkaEndpoint, kafka_endpoint, new_admin, new_consumer

POLL_S = 0.25
QUIET_MS = 400
TICK_KEY = b"__tick__"  # the key agents/correlate.py gives clock ticks


async def committed(
    endpoint: KafkaEndpoint, group: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The group's committed offsets on ``partitions`` (the broker cannot list them all)."""
    admin = new_admin(endpoint)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group, partitions=partitions)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def _nothing_after(
    endpoint: KafkaEndpoint, partitions: list[TopicPartition], done: dict[TopicPartition, int]
) -> bool:
    consumer = new_consumer(endpoint, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, done.get(tp, 0))
        batch = await consumer.getmany(timeout_ms=QUIET_MS, max_records=1)
        return not any(batch.values())
    finally:
        await consumer.stop()


async def wait_done(
    settings: Settings, sent: dict[tuple[str, int], int], timeout_s: float
) -> float:
    """Wait until the group has processed everything; return when that was noticed."""
    endpoint = kafka_endpoint(settings)
    internal = [
        TopicPartition(topic, p)
        for topic in (settings.accepted_topic, settings.outbox_topic)
        for p in range(settings.partitions)
    ]
    watched = internal + [TopicPartition(t, p) for t, p in sent]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = await committed(endpoint, settings.app_id, watched)
        fed = all(done.get(TopicPartition(t, p), 0) >= n for (t, p), n in sent.items())
        if fed and await _nothing_after(endpoint, internal, done):
            return time.time()
        await asyncio.sleep(POLL_S)
    raise TimeoutError(f"the hub did not finish within {timeout_s:.0f}s")


async def wait_heartbeats(
    settings: Settings, registry: Registry, since: float, timeout_s: float
) -> None:
    """Wait for a heartbeat written after ``since`` on every partnership's alert topic.

    A worker rebuilds what it knows of each partnership's stream (and sweeps its outbox) once
    per assignment, on the first alert or heartbeat. Benchmarks measure the steady state, so
    they start after the first heartbeat round.
    """
    topics = {settings.alert_topic(p.id) for p in registry.partnerships}
    waiting = set(topics)
    consumer = new_consumer(
        kafka_endpoint(settings),
        *topics,
        group_id=None,
        auto_offset_reset="earliest",
    )
    deadline = time.monotonic() + timeout_s
    await consumer.start()
    try:
        while waiting and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=QUIET_MS)
            for tp, records in batch.items():
                if any(r.timestamp / 1000 >= since and _heartbeat(r) for r in records):
                    waiting.discard(tp.topic)
    finally:
        await consumer.stop()
    if waiting:
        raise TimeoutError(f"no heartbeat on {len(waiting)} alert topics in {timeout_s:.0f}s")


def _heartbeat(record: ConsumerRecord[bytes, bytes]) -> bool:
    return (CE_TYPE, HEARTBEAT_TYPE.encode()) in list(record.headers)


@dataclass
class Outputs:
    """What the hub wrote, counted, and the newest record time (seconds since the epoch)."""

    counts: Counter[str]
    last_write: float


def output_topics(settings: Settings, registry: Registry) -> dict[str, str]:
    """Topic -> short label for everything the workers write."""
    topics = {
        settings.accepted_topic: "accepted",
        settings.outbox_topic: "outbox",
        settings.decisions_topic: "decisions",
        settings.quarantine_topic: "quarantined",
    }
    topics |= {settings.alert_topic(p.id): "alerts" for p in registry.partnerships}
    topics |= {settings.changelog_topic(t): f"changelog:{t}" for t in WORKER_TABLES}
    return topics


#: Outputs whose records carry many items each (``hub.crypto.record``): counted item by item too.
ITEMISED = frozenset({"accepted", "outbox", "decisions"})


def _items(value: bytes) -> int:
    """How many items an internal record carries (0 if it is not one)."""
    try:
        return len(parse(value).items)
    except MalformedRecordError:
        return 0


def _periodic(record: ConsumerRecord[bytes, bytes]) -> bool:
    """Clock ticks and heartbeats: written on timers, not because of the load."""
    return record.key == TICK_KEY or _heartbeat(record)


async def read_outputs(settings: Settings, registry: Registry, since: float) -> Outputs:
    """Read every output topic to its quiet end; count records written at or after ``since``."""
    labels = output_topics(settings, registry)
    consumer = new_consumer(
        kafka_endpoint(settings),
        *labels,
        group_id=None,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    counts: Counter[str] = Counter()
    last = 0.0
    await consumer.start()
    try:
        empty = 0
        while empty < 2:
            batch = await consumer.getmany(timeout_ms=QUIET_MS, max_records=50_000)
            empty = 0 if any(batch.values()) else empty + 1
            for tp, records in batch.items():
                for record in records:
                    at = record.timestamp / 1000
                    if at >= since and not _periodic(record):
                        label = labels[tp.topic]
                        counts[label] += 1
                        if label in ITEMISED:
                            counts[f"{label}_items"] += _items(record.value or b"")
                        last = max(last, at)
    finally:
        await consumer.stop()
    return Outputs(counts, last)
