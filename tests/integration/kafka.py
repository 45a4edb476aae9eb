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
from hub.transport import (
    ConsumerRecord,
    KafkaConsumer,
    kafka_endpoint,
    new_consumer,
    new_producer,
)
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


async def _from_start(settings: Settings, topics: list[str]) -> KafkaConsumer:
    """A started consumer of ``topics`` from their start, in no group."""
    consumer = new_consumer(
        kafka_endpoint(settings),
        *topics,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    return consumer


async def consume(
    settings: Settings, topics: list[str], *, until: int, timeout_s: float
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read from the start of ``topics`` until ``until`` records arrived or the time is up.

    Heartbeats (on alert topics, sent on a timer) are returned but not counted: a test
    waiting for two alerts must not stop at an alert and a heartbeat.
    """
    consumer = await _from_start(settings, topics)
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
    """Read ``topics`` from the start, on and on, until ``enough`` says so or time is up.

    One consumer reads on as records come; ``enough`` is asked about everything read so far
    every ``CAUGHT_UP_S`` seconds once the reader has caught up, and every ``CHECK_S``
    seconds while records keep coming.
    Returns the last read either way: the caller asserts on it.
    """
    consumer = await _from_start(settings, topics)
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout_s
    checked = time.monotonic()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            for tp_records in batch.values():
                records.extend(tp_records)
            since = time.monotonic() - checked
            if since < CAUGHT_UP_S or (batch and since < CHECK_S):
                continue
            checked = time.monotonic()
            if enough(records) or checked > deadline:
                return records
    finally:
        await consumer.stop()


#: How often :func:`read_until` asks ``enough`` once caught up, and while records keep coming.
CAUGHT_UP_S = 0.5
CHECK_S = 1.5


async def read_to_end(
    settings: Settings, topics: list[str], timeout_s: float = 60
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topics`` from the start to each partition's end as of now.

    The ends are ListOffsets raised to the true end (the embedded broker reports the newest
    batch's base offset + 1: ``hub.transport.probe``). Records written after the call may or
    may not be included. Raises ``AssertionError`` if the known ends are not reached within
    ``timeout_s`` (a generous bound: it only matters when something is wrong).
    """
    async with TopicReader(settings, topics) as reader:
        ends = await reader.read_on(timeout_s)
        return [r for r in reader.records if r.offset < ends[TopicPartition(r.topic, r.partition)]]


class TopicReader:
    """One consumer reading ``topics`` from the start, on to their ends each time it is asked.

    :meth:`read_on` reads only what came since the last call, so a test polling a topic
    another process writes does not read the whole topic again at every poll.
    """

    def __init__(self, settings: Settings, topics: list[str]) -> None:
        self.endpoint = kafka_endpoint(settings)
        self.topics = topics
        self.records: list[ConsumerRecord[bytes, bytes]] = []
        self.consumer = new_consumer(
            self.endpoint, enable_auto_commit=False, group_id=None, fetch_max_wait_ms=50
        )
        self.partitions: list[TopicPartition] = []

    async def __aenter__(self) -> TopicReader:
        await self.consumer.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.consumer.stop()

    async def _assign(self) -> None:
        """Every partition of ``topics`` (metadata fetched again: a topic or partitions may
        have appeared), the new ones from the start and the others from where they were.

        From the metadata fetched now: ``consumer.topics()`` fetches it too but leaves the
        client's own, which ``partitions_for_topic`` reads, as it was until its periodic
        refresh, so a topic created after the first look was never read (``review21``).
        """
        cluster = await self.consumer._client.fetch_all_metadata()  # private: see above
        partitions = [
            TopicPartition(topic, n)
            for topic in self.topics
            for n in sorted(cluster.partitions_for_topic(topic) or ())
        ]
        if partitions == self.partitions:
            return
        positions = {tp: await self.consumer.position(tp) for tp in self.partitions}
        self.consumer.assign(partitions)
        for tp, offset in positions.items():
            self.consumer.seek(tp, offset)
        new = [tp for tp in partitions if tp not in positions]
        if new:
            await self.consumer.seek_to_beginning(*new)
        self.partitions = partitions

    async def read_on(self, timeout_s: float) -> dict[TopicPartition, int]:
        """Read every partition on to its true end as of now, adding to :attr:`records`;
        return those ends.

        Records written meanwhile may be read too (they are kept: the next call starts after
        them). Raises ``AssertionError`` if the ends are not reached within ``timeout_s``.
        """
        await self._assign()
        partitions = self.partitions
        self.consumer.resume(*partitions)
        reported = await self.consumer.end_offsets(partitions)
        ends = await true_ends(self.endpoint, reported)
        deadline = time.monotonic() + timeout_s
        while any([await self.consumer.position(tp) < ends[tp] for tp in partitions]):
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.topics} not read to {ends} in {timeout_s:.0f} s")
            batch = await self.consumer.getmany(*partitions, timeout_ms=200)
            for tp_records in batch.values():
                self.records.extend(tp_records)
        self.consumer.pause(*partitions)  # no fetching in the background until the next call
        return ends


async def wait_for(
    settings: Settings,
    topics: list[str],
    done: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    timeout_s: float = 90,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topics`` to their ends, again and again, until ``done`` holds for what was read.

    Each round reads on from where the last one stopped (:class:`TopicReader`): ``done`` sees
    every record from the start to at least each partition's end as of that round.
    """
    deadline = time.monotonic() + timeout_s
    async with TopicReader(settings, topics) as reader:
        while True:
            await reader.read_on(60)
            if done(reader.records):
                return list(reader.records)
            if time.monotonic() > deadline:
                raise AssertionError(f"{topics}: condition not met in {timeout_s:.0f} s")
            await asyncio.sleep(0.5)
