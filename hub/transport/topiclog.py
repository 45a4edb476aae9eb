"""Reading a single-partition topic written by the hub, from the start to its true end.

The embedded broker's "latest" offset is too low when the newest batch holds several records
(BROKER.md). The topics read here are written one record per request, so the reported end is
exact. We still read on past it until the partition stays quiet, so that a short end can
never hide a record.

No record stops a reader: ``visit`` is expected to refuse what it cannot use itself, and any
error it lets escape is logged and counted here (``hub.refusal``) and the reader moves on.
"""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from hub.refusal import Position, refused
from hub.transport.clients import new_consumer
from hub.transport.endpoint import KafkaEndpoint
from hub.transport.failure import translated

#: How long a caught-up poll waits before the read ends (the reported end is exact here, so
#: this only guards it), and the fetch wait: the embedded broker holds a fetch for its whole
#: wait, and aiokafka's default of 500 ms made rebuilding one partnership's log take about a
#: second even for an empty topic (paid per partnership at every worker start).
QUIET_MS = 100
FETCH_WAIT_MS = 50


async def read_partition(
    endpoint: KafkaEndpoint,
    topic: str,
    visit: Callable[[ConsumerRecord[bytes, bytes]], None],
    number: int = 0,
) -> int:
    """Call ``visit`` on every record of one partition of ``topic``; return how many there were."""
    consumer = new_consumer(
        endpoint, enable_auto_commit=False, group_id=None, fetch_max_wait_ms=FETCH_WAIT_MS
    )
    partition = TopicPartition(topic, number)
    count = 0
    try:
        async with translated(endpoint, f"read {topic}"):
            await consumer.start()
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            end = (await consumer.end_offsets([partition]))[partition]
            while True:
                batch = await consumer.getmany(partition, timeout_ms=QUIET_MS)
                records = batch.get(partition, [])
                for record in records:
                    _visit_safely(visit, record)
                count += len(records)
                if not records and await consumer.position(partition) >= end:
                    return count
    finally:
        await consumer.stop()


async def follow_partition(
    endpoint: KafkaEndpoint, topic: str, visit: Callable[[ConsumerRecord[bytes, bytes]], None]
) -> None:
    """Call ``visit`` on every record of partition 0 of ``topic``, from the start, forever.

    Every caller reads the whole topic itself (no consumer group), which is what a worker
    needs for data every worker must hold, such as the agreements.
    """
    consumer = new_consumer(endpoint, enable_auto_commit=False, group_id=None)
    partition = TopicPartition(topic, 0)
    try:
        async with translated(endpoint, f"follow {topic}"):
            await consumer.start()
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            while True:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                for record in batch.get(partition, []):
                    _visit_safely(visit, record)
    finally:
        await consumer.stop()


def _visit_safely(
    visit: Callable[[ConsumerRecord[bytes, bytes]], None], record: ConsumerRecord[bytes, bytes]
) -> None:
    """Call ``visit``; an error it lets escape refuses the record instead of ending the read."""
    try:
        visit(record)
    except Exception as exc:  # noqa: BLE001  # no record may stop a reader (docs/threat-model.md)
        refused(Position(record.topic, record.partition, record.offset), exc)
