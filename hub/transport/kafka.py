"""The :class:`~hub.transport.protocol.Transport` over aiokafka, against any Kafka broker.

Every client comes from :mod:`hub.transport.clients` (so TLS and SASL from the endpoint), and
every aiokafka error inside is translated by :func:`hub.transport.failure.translated`. The
producer is started on the first send and kept; a producer that fails to start is dropped,
so the next send tries a fresh connection. Reads use a consumer of their own, with no group.

::

    async with KafkaTransport(kafka_endpoint(settings)) as transport:
        written = await transport.send("vru.alerts.reading", value, key=alert_id)
        count = await transport.read("vru.alerts.reading", 0, visit)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from hub.errors import UnknownTopicError
from hub.topics import TopicSpec
from hub.transport.admin import create_topics
from hub.transport.clients import new_consumer, new_producer
from hub.transport.endpoint import KafkaEndpoint
from hub.transport.failure import translated
from hub.transport.partitioner import partition_for
from hub.transport.probe import true_ends
from hub.transport.record import Headers, Record, Visit, Written
from hub.transport.visit import visit_safely

#: A caught-up poll's wait before a read ends, and the fetch wait (``hub.transport.topiclog``).
QUIET_MS = 100
FETCH_WAIT_MS = 50
FOLLOW_POLL_MS = 200


class KafkaTransport:
    """Produce, read, follow and create topics on the brokers of ``endpoint``."""

    def __init__(self, endpoint: KafkaEndpoint, **producer_options: Any) -> None:
        self.endpoint = endpoint
        self._producer_options = {"acks": "all", **producer_options}
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()
        self._counts: dict[str, int] = {}

    async def __aenter__(self) -> KafkaTransport:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        partition: int | None = None,
        headers: Headers = (),
    ) -> Written:
        """Write one record and wait for its acknowledgement."""
        async with translated(self.endpoint, f"send to {topic}"):
            producer = await self._started_producer()
            count = await self._count(producer, topic)
            if partition is None and key is not None:
                partition = partition_for(key, count)
            elif partition is not None and not 0 <= partition < count:
                raise UnknownTopicError(topic, partition)
            meta = await producer.send_and_wait(
                topic, value, key=key, partition=partition, headers=list(headers)
            )
        return Written(meta.topic, meta.partition, meta.offset)

    async def read(self, topic: str, partition: int, visit: Visit, *, start: int = 0) -> int:
        """Visit one partition from ``start`` to its end as of the call."""
        consumer = _reader(self.endpoint)
        try:
            async with translated(self.endpoint, f"read {topic}"):
                await consumer.start()
                _count(await _known(consumer, topic), topic, partition)
                return await read_to_end(consumer, TopicPartition(topic, partition), visit, start)
        finally:
            await consumer.stop()

    async def follow(
        self, topic: str, visit: Visit, *, starts: dict[int, int] | None = None
    ) -> None:
        """Visit the partitions of ``starts`` (every partition from 0 when None) as records
        come, until cancelled."""
        consumer = new_consumer(self.endpoint, enable_auto_commit=False, group_id=None)
        try:
            async with translated(self.endpoint, f"follow {topic}"):
                await consumer.start()
                found = await _known(consumer, topic)
                count = _count(found, topic, None)
                wanted = starts if starts is not None else dict.fromkeys(range(count), 0)
                for partition in wanted:
                    _count(found, topic, partition)
                consumer.assign([TopicPartition(topic, n) for n in wanted])
                for partition, offset in wanted.items():
                    consumer.seek(TopicPartition(topic, partition), offset)
                while True:
                    batch = await consumer.getmany(timeout_ms=FOLLOW_POLL_MS)
                    for records in batch.values():
                        for record in records:
                            visit_safely(visit, record_of(record))
        finally:
            await consumer.stop()

    async def end_offsets(self, topic: str) -> dict[int, int]:
        """Every partition's true end: ListOffsets, raised to the last record present."""
        consumer = _reader(self.endpoint)
        try:
            async with translated(self.endpoint, f"read the ends of {topic}"):
                await consumer.start()
                count = _count(await _known(consumer, topic), topic, None)
                partitions = [TopicPartition(topic, n) for n in range(count)]
                reported = await consumer.end_offsets(partitions)
        finally:
            await consumer.stop()
        ends = await true_ends(
            self.endpoint, {(tp.topic, tp.partition): o for tp, o in reported.items()}
        )
        return {partition: end for (_, partition), end in ends.items()}

    async def partitions(self, topic: str) -> int:
        """How many partitions ``topic`` has."""
        consumer = _reader(self.endpoint)
        try:
            async with translated(self.endpoint, f"describe {topic}"):
                await consumer.start()
                return _count(await _known(consumer, topic), topic, None)
        finally:
            await consumer.stop()

    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> list[str]:
        """Create the topics that do not exist yet (``hub.transport.admin``)."""
        return await create_topics(self.endpoint, list(specs))

    async def close(self) -> None:
        """Stop the producer, if one was started."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def _count(self, producer: AIOKafkaProducer, topic: str) -> int:
        """The partition count of ``topic``, from metadata once per topic (counts only grow)."""
        count = self._counts.get(topic)
        if count is None:
            cluster = await producer.client.fetch_all_metadata()
            count = self._counts[topic] = _count(cluster.partitions_for_topic(topic), topic, None)
        return count

    async def _started_producer(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:
                producer = new_producer(self.endpoint, **self._producer_options)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer


def _reader(endpoint: KafkaEndpoint) -> AIOKafkaConsumer:
    return new_consumer(
        endpoint, enable_auto_commit=False, group_id=None, fetch_max_wait_ms=FETCH_WAIT_MS
    )


async def _known(consumer: AIOKafkaConsumer, topic: str) -> set[int] | None:
    """The partitions of ``topic`` in fresh metadata (None: no such topic)."""
    await consumer.topics()
    found: set[int] | None = consumer.partitions_for_topic(topic)
    return found


def _count(found: set[int] | None, topic: str, partition: int | None) -> int:
    """The partition count of ``topic``; UnknownTopicError when it (or ``partition``) is absent."""
    if not found:
        raise UnknownTopicError(topic)
    if partition is not None and partition not in found:
        raise UnknownTopicError(topic, partition)
    return len(found)


async def read_to_end(
    consumer: AIOKafkaConsumer, partition: TopicPartition, visit: Visit, start: int = 0
) -> int:
    """Visit ``partition`` from ``start`` to its end as of now, on a started consumer.

    The topics read this way are written one record per request, so the reported end is
    exact; the read still goes on past it until a poll comes back empty, so that a short end
    (the embedded broker's, BROKER.md) can never hide a record.
    """
    consumer.assign([partition])
    consumer.seek(partition, start)
    end = (await consumer.end_offsets([partition]))[partition]
    count = 0
    while True:
        batch = await consumer.getmany(partition, timeout_ms=QUIET_MS)
        records = batch.get(partition, [])
        for record in records:
            visit_safely(visit, record_of(record))
        count += len(records)
        if not records and await consumer.position(partition) >= end:
            return count


def record_of(record: ConsumerRecord[bytes, bytes]) -> Record:
    """aiokafka's record as the hub's: headers as pairs, a null header value as empty bytes."""
    return Record(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=tuple(
            (str(name), bytes(value) if value is not None else b"")
            for name, value in record.headers
        ),
        timestamp_ms=record.timestamp,
    )
