"""Raw records from a partnership's alert topic, read with the partnership's own credentials.

The topic has one partition, so a record's offset is its position in the partnership's total
order. Reading starts at an offset (0 = the start; the embedded broker's "latest" offset is
wrong, BROKER.md, so the end is never asked for): with ``follow`` it never stops, otherwise
it stops after ``idle_s`` seconds without a new record.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from hub.alerts import AlertRecord
from hub.config import Settings
from hub.transport import TopicPartition, kafka_endpoint, new_consumer, translated
from hub.transport.lenient import tolerate_unreadable_batches

FETCH_MS = 200


@dataclass(frozen=True, slots=True)
class Positioned:
    """A record and its offset on the partnership topic."""

    offset: int
    record: AlertRecord


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """Where to start reading and when to stop."""

    start_offset: int = 0
    follow: bool = False
    idle_s: float = 2.0


async def read_records(
    settings: Settings, partnership_id: str, options: ReadOptions
) -> AsyncGenerator[Positioned, None]:
    """Every record on the partnership topic from ``options.start_offset``, in order."""
    tolerate_unreadable_batches()  # a record no client can decode must not stop the reader
    topic = settings.alert_topic(partnership_id)
    partition = TopicPartition(topic, 0)
    endpoint = kafka_endpoint(settings)
    consumer = new_consumer(
        endpoint, enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
    )
    try:
        async with translated(endpoint, f"read {topic}"):
            await consumer.start()
            consumer.assign([partition])
            consumer.seek(partition, options.start_offset)
            last = time.monotonic()
            while options.follow or time.monotonic() - last < options.idle_s:
                batch = await consumer.getmany(partition, timeout_ms=FETCH_MS)
                for message in batch.get(partition, []):
                    last = time.monotonic()
                    yield Positioned(
                        message.offset, _record(message.key, message.value, message.headers)
                    )
    finally:
        await consumer.stop()


def _record(
    key: bytes | None,
    value: bytes | None,
    headers: tuple[tuple[str, bytes | None], ...] | None,
) -> AlertRecord:
    """A record as read, a header without a value (Kafka allows it) as an empty one."""
    found = tuple((name, v if v is not None else b"") for name, v in headers or ())
    return AlertRecord(key or b"", value or b"", found)
