"""One contract for every transport: the aiokafka one on the embedded broker, and the one in
memory that the services' unit tests use (``hub.transport.protocol``).

Each test runs once per implementation, on topics of its own. The aiokafka runs are marked
``integration`` (they need the session's broker); the in-memory runs are plain unit tests.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from hub.broker import EmbeddedBroker
from hub.errors import TransportError, UnknownTopicError
from hub.topics import TopicSpec
from hub.transport.endpoint import KafkaEndpoint
from hub.transport.kafka import KafkaTransport
from hub.transport.memory import MemoryTransport
from hub.transport.partitioner import partition_for
from hub.transport.protocol import Transport
from hub.transport.record import Record
from hub.transport.topiclog import read_partition

pytestmark = pytest.mark.timeout(60)

IMPLEMENTATIONS = [
    pytest.param("memory", id="memory"),
    pytest.param("kafka", id="kafka", marks=pytest.mark.integration),
]


@pytest.fixture(params=IMPLEMENTATIONS)
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    """Each implementation in turn; the aiokafka one against the session's embedded broker."""
    made: Transport
    if request.param == "memory":
        made = MemoryTransport()
    else:
        broker: EmbeddedBroker = request.getfixturevalue("broker")
        made = KafkaTransport(KafkaEndpoint.plaintext(broker.url))
    try:
        yield made
    finally:
        await made.close()


async def topic(transport: Transport, partitions: int = 1) -> str:
    """A new topic of the test's own."""
    name = f"contract.{uuid.uuid4().hex[:12]}"
    spec = TopicSpec(name=name, partitions=partitions, replication_factor=1, purpose="a test's")
    assert await transport.ensure_topics([spec]) == [name]
    assert await transport.ensure_topics([spec]) == []  # already there: nothing created
    return name


async def read_all(transport: Transport, name: str, partition: int = 0) -> list[Record]:
    found: list[Record] = []
    count = await transport.read(name, partition, found.append)
    assert count == len(found)
    return found


async def test_a_record_reads_back_with_its_key_value_and_headers(transport: Transport) -> None:
    name = await topic(transport)
    headers = (("ce_id", b"al-1"), ("ce_type", b"vru.alert.raised"), ("empty", b""))
    written = await transport.send(name, b"value-1", key=b"al-1", headers=headers)
    assert (written.topic, written.partition, written.offset) == (name, 0, 0)
    [record] = await read_all(transport, name)
    assert (record.topic, record.partition, record.offset) == (name, 0, 0)
    assert (record.key, record.value, record.headers) == (b"al-1", b"value-1", headers)
    assert record.timestamp_ms > 0


async def test_a_record_without_key_or_headers_reads_back_bare(transport: Transport) -> None:
    name = await topic(transport)
    await transport.send(name, b"v")
    [record] = await read_all(transport, name)
    assert (record.key, record.value, record.headers) == (None, b"v", ())


async def test_a_key_goes_where_the_default_partitioner_puts_it(transport: Transport) -> None:
    name = await topic(transport, partitions=4)
    keys = [f"subject-{n}".encode() for n in range(12)]
    for key in keys:
        written = await transport.send(name, b"v", key=key)
        assert written.partition == partition_for(key, 4)
    for partition in range(4):
        found = await read_all(transport, name, partition)
        assert [r.key for r in found] == [k for k in keys if partition_for(k, 4) == partition]


async def test_a_named_partition_wins_over_the_key(transport: Transport) -> None:
    name = await topic(transport, partitions=3)
    key = b"subject-1"
    other = (partition_for(key, 3) + 1) % 3
    written = await transport.send(name, b"v", key=key, partition=other)
    assert written.partition == other
    assert [r.key for r in await read_all(transport, name, other)] == [key]


async def test_each_partition_keeps_the_order_records_were_sent_in(transport: Transport) -> None:
    name = await topic(transport, partitions=2)
    for n in range(20):
        await transport.send(name, str(n).encode(), partition=n % 2)
    for partition in (0, 1):
        found = await read_all(transport, name, partition)
        assert [int(r.value or b"") for r in found] == list(range(partition, 20, 2))
        assert [r.offset for r in found] == list(range(10))


async def test_a_read_starts_where_it_is_told(transport: Transport) -> None:
    name = await topic(transport)
    for n in range(5):
        await transport.send(name, str(n).encode())
    found: list[Record] = []
    assert await transport.read(name, 0, found.append, start=3) == 2
    assert [(r.offset, r.value) for r in found] == [(3, b"3"), (4, b"4")]


async def test_end_offsets_are_one_past_each_partitions_last_record(transport: Transport) -> None:
    name = await topic(transport, partitions=3)
    for n in range(5):
        await transport.send(name, b"v", partition=0 if n < 4 else 2)
    assert await transport.end_offsets(name) == {0: 4, 1: 0, 2: 1}
    assert await transport.partitions(name) == 3


async def test_an_empty_topic_reads_nothing_and_ends_at_zero(transport: Transport) -> None:
    name = await topic(transport)
    assert await read_all(transport, name) == []
    assert await transport.end_offsets(name) == {0: 0}


async def test_a_record_the_reader_refuses_does_not_end_the_read(transport: Transport) -> None:
    name = await topic(transport)
    for value in (b"good", b"bad", b"good"):
        await transport.send(name, value)
    kept: list[bytes] = []

    def visit(record: Record) -> None:
        if record.value == b"bad":
            raise ValueError("not one of ours")
        kept.append(record.value or b"")

    assert await transport.read(name, 0, visit) == 3
    assert kept == [b"good", b"good"]


async def test_an_unknown_topic_is_a_typed_retriable_error(transport: Transport) -> None:
    missing = f"contract.missing.{uuid.uuid4().hex[:12]}"
    with pytest.raises(UnknownTopicError) as read:
        await transport.read(missing, 0, lambda _r: None)
    with pytest.raises(UnknownTopicError):
        await transport.end_offsets(missing)
    with pytest.raises(UnknownTopicError):
        await transport.send(missing, b"v", key=b"k")
    assert read.value.topic == missing
    assert isinstance(read.value, TransportError)
    assert read.value.retriable


async def test_a_partition_the_topic_lacks_is_a_typed_error(transport: Transport) -> None:
    name = await topic(transport, partitions=2)
    with pytest.raises(UnknownTopicError) as sent:
        await transport.send(name, b"v", partition=2)
    with pytest.raises(UnknownTopicError):
        await transport.read(name, 5, lambda _r: None)
    assert (sent.value.topic, sent.value.partition) == (name, 2)


async def test_a_follower_sees_its_partitions_from_where_they_start(transport: Transport) -> None:
    name = await topic(transport, partitions=2)
    await transport.send(name, b"early-0", partition=0)
    await transport.send(name, b"early-1", partition=1)
    seen: list[Record] = []
    five = asyncio.Event()

    def visit(record: Record) -> None:
        seen.append(record)
        if len(seen) >= 5:
            five.set()

    follower = asyncio.create_task(transport.follow(name, visit, starts={0: 1, 1: 0}))
    try:
        for n in range(4):
            await transport.send(name, f"late-{n}".encode(), partition=n % 2)
        await asyncio.wait_for(five.wait(), timeout=30)
    finally:
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower
    by_partition = {p: [r.value for r in seen if r.partition == p] for p in (0, 1)}
    assert by_partition == {0: [b"late-0", b"late-2"], 1: [b"early-1", b"late-1", b"late-3"]}


async def test_a_follower_without_starts_sees_every_partition_from_the_start(
    transport: Transport,
) -> None:
    name = await topic(transport, partitions=3)
    for partition in range(3):
        await transport.send(name, str(partition).encode(), partition=partition)
    seen: list[Record] = []
    three = asyncio.Event()

    def visit(record: Record) -> None:
        seen.append(record)
        if len(seen) == 3:
            three.set()

    follower = asyncio.create_task(transport.follow(name, visit))
    try:
        await asyncio.wait_for(three.wait(), timeout=30)
    finally:
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower
    assert sorted((r.partition, r.value) for r in seen) == [(0, b"0"), (1, b"1"), (2, b"2")]


async def test_following_a_topic_that_does_not_exist_is_a_typed_error(transport: Transport) -> None:
    with pytest.raises(UnknownTopicError):
        await transport.follow(f"contract.missing.{uuid.uuid4().hex[:12]}", lambda _r: None)


@pytest.mark.integration
async def test_the_tools_reader_takes_a_topic_not_created_yet_as_empty(
    broker: EmbeddedBroker,
) -> None:
    """``read_partition`` (the audit and key tools' reader) keeps its promise over the seam."""
    missing = f"contract.missing.{uuid.uuid4().hex[:12]}"
    seen: list[Record] = []
    assert await read_partition(KafkaEndpoint.plaintext(broker.url), missing, seen.append) == 0
    assert seen == []
