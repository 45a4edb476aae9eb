"""After a rebalance no fetched stream record is dropped unprocessed (agents/transport.py).

faust's recovery ends with: resume the stream partitions, seek them to their committed offsets,
resume flow control (which clears every agent's queue), resume the consumer's flow
(``Recovery.on_recovery_completed`` and ``_resume_streams`` in faust/tables/recovery.py). The
fetcher keeps running meanwhile. A record it handed to an agent's queue while the seek was in
flight was cleared unprocessed and never fetched again: a feed event or a policy switch was lost
for good (docs/state-recovery.md, 2026-12-06). These tests replay that order with faust's own
flow control and queue; only the broker round trip of the seek is replaced.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import faust.transport.consumer
import pytest
from aiokafka import TopicPartition

from agents.app import bare_app
from agents.transport import TrueEndConsumer
from hub.config import Settings

FEED = TopicPartition("vru.feed.police", 1)
CHANGELOG = TopicPartition("vru-hub-subjects-changelog", 1)


@dataclass(frozen=True)
class Fetched:
    """What faust's fetch loop hands on: a record of a partition."""

    tp: TopicPartition
    offset: int


def consumer_into(queue: Any, app: Any) -> TrueEndConsumer:
    """The worker's consumer, handing records on into ``queue`` as faust's conductor does."""

    async def hand_on(message: Fetched) -> None:
        await queue.put(message)

    consumer = app.transport.create_consumer(
        callback=hand_on, on_partitions_revoked=None, on_partitions_assigned=None
    )
    assert isinstance(consumer, TrueEndConsumer)
    CONSUMERS.append(consumer)
    return consumer


@pytest.fixture
async def app() -> AsyncIterator[Any]:
    """The worker's faust app, made inside the test's event loop (faust takes the running one)."""
    made = bare_app(Settings(broker_url="kafka://127.0.0.1:9", app_id="gate-test"))
    yield made
    for consumer in CONSUMERS:  # each made its consumer thread's event loop, never started
        consumer._thread.thread_loop.close()
    CONSUMERS.clear()


CONSUMERS: list[TrueEndConsumer] = []


async def test_a_record_handed_on_during_the_seek_reaches_its_agent(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = app.FlowControlQueue(maxsize=16, clear_on_resume=True)  # an agent's queue
    consumer = consumer_into(queue, app)
    fetcher: list[asyncio.Task[None]] = []

    async def seek_while_fetching(self: Any) -> None:
        # The fetcher hands on a record of the just-resumed partition while the seek is on
        # its way to the broker.
        fetcher.append(asyncio.create_task(self.callback(Fetched(FEED, 0))))
        for _ in range(5):
            await asyncio.sleep(0)

    monkeypatch.setattr(faust.transport.consumer.Consumer, "perform_seek", seek_while_fetching)
    app.flow_control.resume()  # recovery resumed the flow to read the changelogs
    consumer.resume_flow()

    await consumer.perform_seek()  # "Seek stream partitions to committed offsets."
    app.flow_control.resume()  # clears the agents' queues
    consumer.resume_flow()
    await asyncio.wait_for(fetcher[0], timeout=5)

    assert queue.qsize() == 1, "the record handed on during the seek was dropped"
    assert queue.get_nowait() == Fetched(FEED, 0)


async def test_changelog_records_pass_while_stream_records_wait(app: Any) -> None:
    queue = app.FlowControlQueue(maxsize=16, clear_on_resume=False)
    consumer = consumer_into(queue, app)
    app.flow_control.resume()
    consumer._gate.close()

    await asyncio.wait_for(consumer.callback(Fetched(CHANGELOG, 7)), timeout=5)
    held = asyncio.create_task(consumer.callback(Fetched(FEED, 3)))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not held.done(), "a stream record went through a shut gate"
    consumer.resume_flow()
    await asyncio.wait_for(held, timeout=5)
    assert [queue.get_nowait(), queue.get_nowait()] == [Fetched(CHANGELOG, 7), Fetched(FEED, 3)]


async def test_no_commit_past_an_unprocessed_start_of_an_uncommitted_partition(app: Any) -> None:
    consumer = consumer_into(asyncio.Queue(), app)
    consumer._stream_start = {FEED: 0}
    consumer._acked[FEED].extend([3, 4])  # acknowledged before offsets 0 to 2 were processed
    consumer._acked_index[FEED].update([3, 4])
    assert consumer._new_offset(FEED) is None
    consumer._acked[FEED].extend([0, 1, 2])
    consumer._acked_index[FEED].update([0, 1, 2])
    assert consumer._new_offset(FEED) == 5


async def test_a_committed_partition_commits_as_faust_does(app: Any) -> None:
    consumer = consumer_into(asyncio.Queue(), app)
    consumer._stream_start = {}
    consumer._committed_offset[FEED] = 3
    consumer._acked[FEED].extend([3, 4])
    consumer._acked_index[FEED].update([3, 4])
    assert consumer._new_offset(FEED) == 5
    consumer._acked[CHANGELOG].extend([6, 7])
    consumer._acked_index[CHANGELOG].update([6, 7])
    assert consumer._new_offset(CHANGELOG) == 8
