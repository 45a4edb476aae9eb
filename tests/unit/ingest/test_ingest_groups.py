"""Ingest a group of feed records at a time: one accepted record per destination partition for
the group, nothing acknowledged before it is processed, and a record that fails in the middle
of a group quarantined alone while the others go through.

The stream here is a stand-in for faust's (its buffered queue, its iterator, its acks): what
is tested is the reader's and the agent's logic; the real stream and broker are exercised by
``tests/integration/test_ingest_groups.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import faust

from agents.groups import RecordGroups
from agents.ingest import IngestAgent, Send
from hub.crypto.batchrecord import encode_batch_record
from hub.crypto.record import parse
from hub.ingest import SOURCE_HEADER, Outbound
from hub.quarantine import QuarantineRecord
from hub.seen import SeenEvents
from tests.unit.ingest.test_batch_ingest import (
    SETTINGS,
    SIGNING,
    STORE,
    TOPIC,
    VALUES,
    ingest,
    message,
)

ACCEPTED = SETTINGS.accepted_topic


def event_ids(value: bytes) -> list[str]:
    return [STORE.decode(item).record["envelope"]["event_id"] for item in parse(value).items]


def batch(values: list[bytes]) -> bytes:
    return encode_batch_record(values, SIGNING, "police")


def test_a_group_is_one_accepted_record_per_partition_in_input_order() -> None:
    rows: dict[str, str] = {}
    hub, seen = ingest(), SeenEvents(rows)
    feed = [message(batch(VALUES[n : n + 6]), offset=n) for n in range(0, 24, 6)]
    routed = [(m, hub.route_record(m, seen)) for m in feed]
    out = hub.seal_group(routed)
    accepted = [m for m in out if m.topic == ACCEPTED]
    assert len({m.partition for m in accepted}) == len(accepted)  # one per partition
    expected = [STORE.decode(v).record["envelope"]["event_id"] for v in VALUES]
    got = {m.partition: event_ids(m.value) for m in accepted}
    assert sorted(i for ids in got.values() for i in ids) == sorted(expected)
    for ids in got.values():  # each partition's events in the order they were read
        assert ids == [i for i in expected if i in ids]
    sources = {m.partition: dict(m.headers)[SOURCE_HEADER].split(b",") for m in accepted}
    assert set().union(*sources.values()) == {m.source.position.encode() for m in feed}
    assert sorted(rows) == sorted(m.source.position for m in feed)  # a seen row per record


def test_a_partition_over_the_budget_goes_on_in_further_records_in_order() -> None:
    hub, seen = ingest(), SeenEvents({})
    feed = [message(batch(VALUES[n : n + 4]), offset=n) for n in range(0, 24, 4)]
    routed = [(m, hub.route_record(m, seen)) for m in feed]
    budget = max(len(v) for v in VALUES) * 2
    out = [m for m in hub.seal_group(routed, budget=budget) if m.topic == ACCEPTED]
    whole = [m for m in hub.seal_group(routed) if m.topic == ACCEPTED]
    assert len(out) > len(whole)
    for partition in {m.partition for m in whole}:
        split = [i for m in out if m.partition == partition for i in event_ids(m.value)]
        (one,) = [m for m in whole if m.partition == partition]
        assert split == event_ids(one.value)
    assert all(sum(map(len, parse(m.value).items)) <= budget for m in out)


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None = b"k"
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp: float | None = 1_800_000_000.0


@dataclass(eq=False)
class Event:
    value: bytes
    message: Message
    skip: bool = False


@dataclass
class Queue:
    """The stream's buffer: what it holds is read without waiting."""

    items: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)

    def empty(self) -> bool:
        return self.items.empty()


@dataclass
class Channel:
    queue: Queue


class Stream:
    """A stand-in for faust's stream: ``noack()``, ``events()``, ``ack()``, ``channel.queue``.

    Like faust's, its iterator passes over a record it skips (one read before a rebalance)
    and waits for the next.
    """

    def __init__(self) -> None:
        self.channel = Channel(Queue())
        self.acked: list[Event] = []

    def noack(self) -> Stream:
        return self

    async def events(self) -> AsyncIterator[Event]:
        while True:
            item = await self.channel.queue.items.get()
            if item is None:
                return
            if not item.skip:
                yield item

    async def ack(self, event: Event) -> None:
        self.acked.append(event)

    def put(self, *events: Event | None) -> None:
        for e in events:
            self.channel.queue.items.put_nowait(e)


def feed_event(offset: int, value: bytes = b"", **kw: Any) -> Event:
    return Event(value, Message(TOPIC, 2, offset), **kw)


def ingest_agent(send: Send) -> IngestAgent:
    """The ingest agent over a fresh seen-events index, sending through ``send``."""
    rows = Partition()
    return IngestAgent(
        ingest(),
        SeenEvents(rows.rows),
        rows,
        feeds={TOPIC: "police"},
        send=send,
        quarantine_topic=SETTINGS.quarantine_topic,
    )


def reader(stream: Stream, limit: int = 64) -> RecordGroups:
    return RecordGroups(cast("faust.StreamT[Any]", stream), limit=limit)


async def test_a_group_is_what_was_buffered_and_nothing_is_acked_before_ack() -> None:
    stream = Stream()
    stream.put(*(feed_event(n) for n in range(5)))
    groups = aiter(reader(stream, limit=3))
    first = await anext(groups)
    assert [e.message.offset for e in first] == [0, 1, 2]  # capped at the limit
    assert stream.acked == []
    second = await anext(groups)  # the next group is read before the first is acked
    assert [e.message.offset for e in second] == [3, 4]
    assert stream.acked == []
    await reader(stream).ack(first)
    assert stream.acked == first
    stream.put(None)
    assert [g async for g in groups] == []


async def test_a_group_does_not_wait_for_records_not_yet_buffered() -> None:
    stream = Stream()
    stream.put(feed_event(0))
    groups = aiter(reader(stream))
    assert [e.message.offset for e in await asyncio.wait_for(anext(groups), 1)] == [0]
    later = asyncio.ensure_future(anext(groups))
    for _ in range(20):  # every step the reader can take without a new record
        await asyncio.sleep(0)
    assert not later.done()  # waits for the next record, holding no group
    stream.put(feed_event(1))
    assert [e.message.offset for e in await asyncio.wait_for(later, 1)] == [1]


async def test_records_handed_on_one_loop_step_apart_join_one_group() -> None:
    """faust hands a fetched batch on a record at a time, yielding to the loop after each: the
    group takes the whole batch, not just the record that woke it."""
    stream = Stream()

    async def hand_on() -> None:
        for n in range(5):
            stream.put(feed_event(n))
            for _ in range(3):  # about what faust's hand-on of one record takes
                await asyncio.sleep(0)

    handing = asyncio.ensure_future(hand_on())
    group = await asyncio.wait_for(anext(aiter(reader(stream))), 1)
    await handing
    assert [e.message.offset for e in group] == [0, 1, 2, 3, 4]


async def test_a_buffered_record_the_stream_skips_does_not_hold_the_group() -> None:
    stream = Stream()
    stream.put(feed_event(0), feed_event(1, skip=True))
    groups = aiter(reader(stream))
    group = await asyncio.wait_for(anext(groups), 1)  # not held until another record comes
    assert [e.message.offset for e in group] == [0]
    stream.put(feed_event(2))  # the read that skipped goes on into the next group
    assert [e.message.offset for e in await asyncio.wait_for(anext(groups), 1)] == [2]


async def test_an_error_in_the_middle_of_a_group_quarantines_that_record_alone() -> None:
    """The group's send fails on the poisoned record: each record is then processed alone,
    the poisoned one is quarantined, the others accepted, and the agent acks the group only
    after all that (no record acked while its outputs were unsent)."""
    stream = Stream()
    poisoned = message(batch(VALUES[4:8]), offset=11).source.position.encode()
    sent: list[Outbound] = []
    acked_at_failure: list[list[Event]] = []

    async def send(out: Outbound) -> None:
        if out.topic == ACCEPTED and poisoned in dict(out.headers)[SOURCE_HEADER].split(b","):
            acked_at_failure.append(list(stream.acked))
            raise RuntimeError("the broker refused it")
        sent.append(out)

    agent = ingest_agent(send)
    values = [batch(VALUES[n : n + 4]) for n in range(0, 12, 4)]
    events = [feed_event(10 + n, v) for n, v in enumerate(values)]
    stream.put(*events, None)
    groups = reader(stream)
    async for group in groups:  # the agent's loop
        assert group == events
        await agent.handle_group(group)
        assert stream.acked == []
        await groups.ack(group)

    assert acked_at_failure == [[], []]  # the group's send, then the record's alone
    assert stream.acked == events
    accepted = [i for m in sent if m.topic == ACCEPTED for i in event_ids(m.value)]
    ids = [STORE.decode(v).record["envelope"]["event_id"] for v in VALUES[:12]]
    assert sorted(set(accepted)) == sorted(ids[:4] + ids[8:])  # the good records, all accepted
    (refused,) = [
        QuarantineRecord.from_bytes(m.value) for m in sent if m.topic == SETTINGS.quarantine_topic
    ]
    assert (refused.source.offset, refused.reason) == (11, "internal_error")
    rows = agent.rows
    assert isinstance(rows, Partition)
    stored = {row: value.count("\n") + 1 if value else 0 for row, value in rows.rows.items()}
    assert stored == {f"{TOPIC}:2:10": 4, f"{TOPIC}:2:11": 0, f"{TOPIC}:2:12": 4}


async def test_a_groups_rows_are_stored_together_per_partition_before_its_sends() -> None:
    """One store of seen rows per feed partition and group (one changelog record), made
    before any accepted record of the group is sent."""
    rows_at_send: list[set[str]] = []
    agent = ingest_agent(lambda out: _noted(rows_at_send, agent, out))
    values = [batch(VALUES[n : n + 2]) for n in range(0, 8, 2)]
    group = [
        Event(values[0], Message(TOPIC, 0, 4)),
        Event(values[1], Message(TOPIC, 1, 7)),
        Event(values[2], Message(TOPIC, 0, 5)),
        Event(values[3], Message(TOPIC, 1, 8)),
    ]
    await agent.handle_group(cast("list[faust.EventT[bytes]]", group))
    rows = agent.rows
    assert isinstance(rows, Partition)
    assert rows.calls == [
        (0, [f"{TOPIC}:0:4", f"{TOPIC}:0:5"], 5),
        (1, [f"{TOPIC}:1:7", f"{TOPIC}:1:8"], 8),
    ]
    assert rows_at_send
    assert all(len(seen) == 4 for seen in rows_at_send)


async def _noted(log: list[set[str]], agent: IngestAgent, out: Outbound) -> None:
    rows = agent.rows
    assert isinstance(rows, Partition)
    log.append(set(rows.rows))


@dataclass
class Partition:
    """The seen-events rows as the agent stores them: a group's rows together, per partition."""

    rows: dict[str, str] = field(default_factory=dict)
    partition: int = 0
    calls: list[tuple[int, list[str], int]] = field(default_factory=list)

    def put_many(self, partition: int, rows: Iterable[tuple[str, str]], origin: int) -> None:
        written = list(rows)
        self.calls.append((partition, [row for row, _ in written], origin))
        self.rows.update(written)
