"""Small real-Kafka helpers for integration tests (aiokafka through the transport seam, no mocks).

Both take the test's settings, so a test over TLS reads and writes with its own credentials.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from hub.config import Settings
from hub.transport import ConsumerRecord, kafka_endpoint, new_consumer, new_producer
from hub.transport.lenient import tolerate_unreadable_batches

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
    """Read from the start of ``topics`` until ``until`` records arrived or the time is up."""
    consumer = new_consumer(
        kafka_endpoint(settings),
        *topics,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < until and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for tp_records in batch.values():
                records.extend(tp_records)
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return records


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
