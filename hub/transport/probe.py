"""The true end of a partition, whatever ListOffsets says.

The embedded broker answers "latest" with the newest batch's base offset + 1, which is too
low when that batch holds several records (BROKER.md, docs/state-recovery.md). faust ends its
changelog recovery there, and so drops the last updates. :func:`true_ends` reads on from just
before the reported end until the partition stays quiet, and returns the real end. Against
Apache Kafka it finds nothing more and returns the reported offsets unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from hub.transport.clients import new_consumer
from hub.transport.endpoint import KafkaEndpoint
from hub.transport.failure import translated

EMPTY_POLLS = 3
POLL_MS = 100

TP = TypeVar("TP", bound=tuple[str, int])


async def true_ends(endpoint: KafkaEndpoint, reported: Mapping[TP, int]) -> dict[TP, int]:
    """``reported`` end offsets, raised to one past the last record actually present."""
    wanted = {TopicPartition(tp[0], tp[1]): tp for tp in reported if reported[tp] > 0}
    ends = dict(reported)
    if not wanted:
        return ends
    consumer = new_consumer(endpoint, enable_auto_commit=False, group_id=None, fetch_max_wait_ms=20)
    try:
        async with translated(endpoint, "probe partition ends"):
            await _read_on(consumer, wanted, reported, ends)
    finally:
        await consumer.stop()
    return ends


async def _read_on(
    consumer: AIOKafkaConsumer,
    wanted: dict[TopicPartition, TP],
    reported: Mapping[TP, int],
    ends: dict[TP, int],
) -> None:
    """Read from just before each reported end until the partitions stay quiet."""
    await consumer.start()
    consumer.assign(list(wanted))
    for tp, original in wanted.items():
        consumer.seek(tp, max(reported[original] - 1, 0))
    empty = 0
    while empty < EMPTY_POLLS:
        batch = await consumer.getmany(timeout_ms=POLL_MS)
        empty = 0 if batch else empty + 1
        for tp, records in batch.items():
            original = wanted[tp]
            ends[original] = max(ends[original], records[-1].offset + 1)
