"""The :class:`~hub.transport.protocol.Transport` in memory: partitions as lists of records.

For unit tests of the services above the seam (``hub.sequencing``), and the reference the
contract suite holds the aiokafka transport to. It partitions keys as Kafka's default
partitioner does (``hub.transport.partitioner``), numbers offsets from 0 per partition, and
raises the same typed errors (:class:`~hub.errors.UnknownTopicError`). :meth:`fail_sends`
makes the next sends fail as a broker that cannot be reached does, to test retries.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence

from hub.errors import TransportError, UnknownTopicError
from hub.topics import TopicSpec
from hub.transport.partitioner import partition_for
from hub.transport.record import Headers, Record, Visit, Written
from hub.transport.visit import visit_safely


class MemoryTransport:
    """Topics of partitions of records, in this process only."""

    def __init__(self) -> None:
        self.topics: dict[str, list[list[Record]]] = {}
        self._arrived = asyncio.Condition()
        self._round_robin = itertools.count()
        self._failing = 0

    def create(self, topic: str, partitions: int = 1) -> None:
        """Create ``topic`` with ``partitions`` partitions if it does not exist."""
        if partitions < 1:
            raise ValueError("a topic has at least one partition")
        self.topics.setdefault(topic, [[] for _ in range(partitions)])

    def fail_sends(self, count: int) -> None:
        """Make the next ``count`` sends raise a retriable TransportError, writing nothing."""
        self._failing = count

    async def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        partition: int | None = None,
        headers: Headers = (),
    ) -> Written:
        """Append one record to its partition."""
        partitions = self._partitions_of(topic, partition)
        if self._failing > 0:
            self._failing -= 1
            raise TransportError(f"cannot send to {topic}: the broker is unreachable (simulated)")
        if partition is None:
            count = len(partitions)
            partition = (
                partition_for(key, count) if key is not None else next(self._round_robin) % count
            )
        records = partitions[partition]
        stamp = time.time_ns() // 1_000_000
        records.append(Record(topic, partition, len(records), key, value, tuple(headers), stamp))
        async with self._arrived:
            self._arrived.notify_all()
        return Written(topic, partition, len(records) - 1)

    async def read(self, topic: str, partition: int, visit: Visit, *, start: int = 0) -> int:
        """Visit one partition from ``start`` to its end as of the call."""
        records = self._partitions_of(topic, partition)[partition]
        taken = records[start : len(records)]
        for record in taken:
            visit_safely(visit, record)
        return len(taken)

    async def follow(
        self, topic: str, visit: Visit, *, starts: dict[int, int] | None = None
    ) -> None:
        """Visit the partitions of ``starts`` (every one from 0 when None) as records come,
        until cancelled."""
        partitions = self._partitions_of(topic, None)
        for partition in starts or {}:
            self._partitions_of(topic, partition)
        positions = dict(starts) if starts is not None else dict.fromkeys(range(len(partitions)), 0)
        while True:
            for n in positions:
                records = partitions[n]
                while positions[n] < len(records):
                    visit_safely(visit, records[positions[n]])
                    positions[n] += 1
            async with self._arrived:
                if all(positions[n] >= len(partitions[n]) for n in positions):
                    await self._arrived.wait()

    async def end_offsets(self, topic: str) -> dict[int, int]:
        """Every partition's end: its length."""
        return {n: len(records) for n, records in enumerate(self._partitions_of(topic, None))}

    async def partitions(self, topic: str) -> int:
        """How many partitions ``topic`` has."""
        return len(self._partitions_of(topic, None))

    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> list[str]:
        """Create the topics that do not exist yet."""
        missing = [spec for spec in specs if spec.name not in self.topics]
        for spec in missing:
            self.create(spec.name, spec.partitions)
        return [spec.name for spec in missing]

    async def close(self) -> None:
        """Nothing to release: the records stay, as a broker's would."""

    def _partitions_of(self, topic: str, partition: int | None) -> list[list[Record]]:
        partitions = self.topics.get(topic)
        if partitions is None:
            raise UnknownTopicError(topic)
        if partition is not None and not 0 <= partition < len(partitions):
            raise UnknownTopicError(topic, partition)
        return partitions
