"""Small real-Kafka helpers for integration tests (aiokafka, no mocks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from hub.transport import bootstrap_servers
from hub.transport.lenient import tolerate_unreadable_batches

tolerate_unreadable_batches()  # the tests' own readers meet the fuzz tests' records too

Message = tuple[bytes, list[tuple[str, bytes]]]


async def produce(
    broker_url: str, topic: str, messages: list[Message], key: bytes | None = None
) -> None:
    """Send ``(value, headers)`` messages to ``topic`` and wait for every acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(broker_url), acks="all")
    await producer.start()
    try:
        for value, headers in messages:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def consume(
    broker_url: str, topics: list[str], *, until: int, timeout_s: float
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read from the start of ``topics`` until ``until`` records arrived or the time is up."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers(broker_url),
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
    broker_url: str,
    topics: list[str],
    enough: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    timeout_s: float,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topics`` from the start, again and again, until ``enough`` says so or time is up.

    Returns the last read either way: the caller asserts on it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        records = await consume(broker_url, topics, until=10**9, timeout_s=1.5)
        if enough(records) or time.monotonic() > deadline:
            return records
