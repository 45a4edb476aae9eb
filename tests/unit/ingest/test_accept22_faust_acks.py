"""Nothing is acknowledged before it is processed, on faust's own stream (issue 17).

``tests/unit/ingest/test_ingest_groups.py`` proves :class:`agents.groups.RecordGroups` against a
stand-in stream whose ``noack()`` is assumed to work. These tests run the reader over a real
faust stream (faust's Cython iterator, as the worker runs it), fed through a local channel with
no broker, and read faust's own acknowledgement of each message (``Message.acked``, what makes
its offset committable): no record of a group is acknowledged before :meth:`RecordGroups.ack`,
and none is when the agent's body raises or is cancelled, the record read ahead for the next
group included. faust's own iteration acknowledges the record its body raised on, and the same
check sees it, so the check can fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import faust
import pytest
from faust.types.tuples import Message

from agents.app import bare_app
from agents.groups import RecordGroups
from hub.config import Settings
from tests.faustfeed import put_record

pytestmark = pytest.mark.timeout(30)


class Feed:
    """The worker's faust app with no broker, and a local channel whose stream an agent reads."""

    def __init__(self) -> None:
        self.app = bare_app(Settings(broker_url="kafka://127.0.0.1:9", app_id="accept22-acks"))
        self.app.flow_control.resume()  # as the consumer does once partitions are assigned
        self.channel = self.app.channel()
        self.messages: list[Message] = []

    def stream(self) -> faust.StreamT[Any]:
        return self.app.stream(self.channel)

    async def put(self, count: int) -> None:
        """``count`` records of partition 0 at the next offsets, delivered to the stream."""
        for _ in range(count):
            offset = len(self.messages)
            message = await put_record(
                self.app, self.channel, topic="feed", partition=0, offset=offset, value=b"v"
            )
            self.messages.append(message)

    def acked(self) -> list[int]:
        """The offsets faust has acknowledged."""
        return [m.offset for m in self.messages if m.acked]

    def close(self) -> None:
        """Close the event loop of the consumer thread the stream made (never started)."""
        self.app.consumer._thread.thread_loop.close()


@pytest.fixture
async def feed() -> AsyncIterator[Feed]:
    """A feed made inside the test's event loop (faust takes the running one)."""
    made = Feed()
    yield made
    made.close()


async def stopped(stream: faust.StreamT[Any]) -> None:
    """Stop ``stream`` as faust does (``Stream.on_stop`` closes the iterators left open), and
    let the loop finalise the iterators already dropped (an abandoned async generator is closed
    by a task the loop schedules): every ack faust would make on its way out is made."""
    await stream.get_active_stream().on_stop()
    for _ in range(20):
        await asyncio.sleep(0)


async def first(groups: AsyncIterator[list[Any]]) -> list[int]:
    return [e.message.offset for e in await asyncio.wait_for(anext(groups), 5)]


async def test_no_record_of_a_group_is_acked_before_the_group_is(feed: Feed) -> None:
    reader = RecordGroups(feed.stream(), limit=3)
    await feed.put(5)
    groups = aiter(reader)
    one = await asyncio.wait_for(anext(groups), 5)
    assert [e.message.offset for e in one] == [0, 1, 2]
    assert feed.acked() == []
    assert await first(groups) == [3, 4]  # the next group read, the first still unacked
    assert feed.acked() == []
    await reader.ack(one)
    assert feed.acked() == [0, 1, 2]


@pytest.mark.parametrize("failure", ["raises", "cancelled"])
async def test_a_group_whose_body_fails_leaves_every_record_unacked(
    feed: Feed, failure: str
) -> None:
    """The agent's loop ends in its body (an escaping error, or the task cancelled mid-send)
    and faust stops the stream, closing the iterators left open (``Stream.on_stop``): neither
    the group nor the record already read for the next group is acknowledged, so a restarted
    worker reads them all again."""
    stream = feed.stream()
    reader = RecordGroups(stream, limit=2)
    started = asyncio.Event()

    async def body(group: Sequence[Any]) -> None:
        started.set()
        if failure == "raises":
            raise RuntimeError("the body failed")
        await asyncio.Event().wait()  # a send that never completes

    async def agent() -> None:
        async for group in reader:
            await body(group)
            await reader.ack(group)

    await feed.put(3)
    task = asyncio.ensure_future(agent())
    await asyncio.wait_for(started.wait(), 5)
    if failure == "cancelled":
        task.cancel()
    with pytest.raises(asyncio.CancelledError if failure == "cancelled" else RuntimeError):
        await task
    await stopped(stream)
    assert feed.acked() == []


async def test_the_check_sees_the_ack_fausts_own_iteration_makes_when_its_body_raises(
    feed: Feed,
) -> None:
    """faust's iterator (like its ``take``, the issue's warning) acknowledges the record its
    body raised on once the stream stops: the same feed and check report it, so the tests
    above could fail."""
    stream = feed.stream()
    await feed.put(2)

    async def agent() -> None:
        async for _ in stream:
            raise RuntimeError("the body failed")

    with pytest.raises(RuntimeError):
        await agent()
    await stopped(stream)
    assert feed.acked() == [0]
