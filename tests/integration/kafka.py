"""Small real-Kafka helpers for integration tests (aiokafka through the transport seam, no mocks).

Each takes the test's settings, so a test over TLS reads and writes with its own credentials.
Two ways to read: :func:`consume` waits for a number of records the test knows will come
(or for a condition, polled); :func:`read_to_end` reads every partition to the end it has
when the call starts. Neither ends on "the topic went quiet": on a loaded machine a quiet
second proves nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import TopicPartition

from hub.alerts.headers import HEARTBEAT_TYPE
from hub.config import Settings
from hub.transport import ConsumerRecord, kafka_endpoint, new_consumer, new_producer
from hub.transport.lenient import tolerate_unreadable_batches
from hub.transport.probe import true_ends

tolerate_unreadable_batches()  # the tests' own readers meet the fuzz tests' records too

Message = tuple[bytes, list[tuple[str, bytes]]]


async def produce(
    settings: Settings, topic: str, messages: list[Message], key: bytes | None = None
) -> None:
    """Send ``(value, headers)`` messages to ``topic`` and wait for every acknowledgement."""
    producer = new_producer(kafka_endpoint(settings), acks="all")
    await producer.start()
    try:
        for value, headers in messages:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def consume(
    settings: Settings, topics: list[str], *, until: int, timeout_s: float
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read from the start of ``topics`` until ``until`` records arrived or the time is up.

    Heartbeats (on alert topics, sent on a timer) are returned but not counted: a test
    waiting for two alerts must not stop at an alert and a heartbeat.
    """
    consumer = new_consumer(
        kafka_endpoint(settings),
        *topics,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    counted = 0
    deadline = time.monotonic() + timeout_s
    try:
        while counted < until and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for tp_records in batch.values():
                records.extend(tp_records)
                counted += sum(1 for r in tp_records if not is_heartbeat(r))
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return records


def is_heartbeat(record: ConsumerRecord[bytes, bytes]) -> bool:
    """True for an alert topic's heartbeat record (its ``ce_type`` header)."""
    return dict(record.headers).get("ce_type") == HEARTBEAT_TYPE.encode()


async def read_until(
    settings: Settings,
    topics: list[str],
    enough: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    timeout_s: float,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topics`` from the start, again and again, until ``enough`` says so or time is up.

    Returns the last read either way: the caller asserts on it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        records = await consume(settings, topics, until=10**9, timeout_s=1.5)
        if enough(records) or time.monotonic() > deadline:
            return records


async def read_to_end(
    settings: Settings, topics: list[str], timeout_s: float = 60
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topics`` from the start to each partition's end as of now.

    The ends are ListOffsets raised to the true end (the embedded broker reports the newest
    batch's base offset + 1: ``hub.transport.probe``). Records written after the call may or
    may not be included. Raises ``AssertionError`` if the known ends are not reached within
    ``timeout_s`` (a generous bound: it only matters when something is wrong).
    """
    endpoint = kafka_endpoint(settings)
    consumer = new_consumer(endpoint, enable_auto_commit=False, group_id=None, fetch_max_wait_ms=50)
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        await consumer.topics()  # metadata, so that partitions_for_topic knows every topic
        partitions = [
            TopicPartition(topic, n)
            for topic in topics
            for n in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        reported = await consumer.end_offsets(partitions)
        ends = await true_ends(endpoint, reported)
        deadline = time.monotonic() + timeout_s
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topics} not read to {ends} in {timeout_s:.0f} s")
            batch = await consumer.getmany(timeout_ms=200)
            for tp_records in batch.values():
                records.extend(
                    r for r in tp_records if r.offset < ends[TopicPartition(r.topic, r.partition)]
                )
    finally:
        await consumer.stop()
    return records


async def wait_for(
    settings: Settings,
    topics: list[str],
    done: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    timeout_s: float = 90,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topics`` to their ends, again and again, until ``done`` holds for what was read."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = await read_to_end(settings, topics)
        if done(records):
            return records
        if time.monotonic() > deadline:
            raise AssertionError(f"{topics}: condition not met in {timeout_s:.0f} s")
        await asyncio.sleep(0.5)
