"""Reading a faust stream a group of records at a time, each acknowledged only once processed.

faust pays its cost per record and the hub's agents pay theirs per call: an agent that reads
one record at a time, under load, spends most of its time on records that hold one or two
events. :class:`RecordGroups` hands an agent every record its stream has already buffered (up
to a limit), without waiting for more: a quiet stream gives groups of one at once, a busy one
larger groups, so latency never waits for a group to fill.

Nothing is acknowledged before it is processed. faust's own batching (``take``,
``take_events``) acks a batch when the body raises, and its iterator acks a record when the
agent asks for the next one; this reader iterates a ``noack()`` stream and acks a group only
when :meth:`RecordGroups.ack` is called, after the agent has sent the group's outputs and
stored its rows. A worker killed in between leaves the group unacknowledged, so it is read
again (the hub is at-least-once with deterministic ids and idempotent consumers).

The next record is read in a task of its own, so a group is never held while the reader
waits: if the buffered record turns out to be one faust skips (a rebalance under way), the
group goes on after :data:`DRAIN_WAIT_S` and that read carries on into the next group. As that
task, not the agent's, sets faust's current event, :func:`processing` sets it again for each
record the agent handles (faust's tables file a row under the current event's partition).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from faust.streams import Stream, _current_event
from faust.types import EventT, StreamT

#: The most records in one group.
GROUP_LIMIT = 64
#: How long a group waits for a record its stream had buffered (one faust skips, rarely).
DRAIN_WAIT_S = 0.005
#: Steps of the event loop a group lets faust take to hand on the rest of a fetched batch
#: (it takes about three a record) before the group is closed.
SETTLE_STEPS = 8


class RecordGroups:
    """Groups of the records ``stream`` has buffered, acknowledged by :meth:`ack` only."""

    def __init__(
        self,
        stream: StreamT[Any],
        limit: int = GROUP_LIMIT,
        drain_wait_s: float = DRAIN_WAIT_S,
        settle_steps: int = SETTLE_STEPS,
    ) -> None:
        self._stream: StreamT[Any] = cast("Stream[Any]", stream).noack()
        self._queue = getattr(stream.channel, "queue", None)
        self._limit = limit
        self._drain_wait_s = drain_wait_s
        self._settle_steps = settle_steps

    async def _settled(self) -> bool:
        """Whether the stream holds a record, once faust has handed on what it fetched.

        faust hands a fetched batch to the agents' queues one record at a time, yielding to
        the event loop after each; a group taken the moment its first record arrives held
        one record (the median at 1,000 events/s, docs/benchmarks-history.md). So before a group is
        closed, the loop is let run :data:`SETTLE_STEPS` more steps: records already fetched
        join the group, and nothing not yet fetched is waited for.
        """
        for _ in range(self._settle_steps):
            if self._buffered():
                return True
            await asyncio.sleep(0)
        return self._buffered()

    def _buffered(self) -> bool:
        """Whether the stream holds a record already (reading it waits for nothing)."""
        queue = self._queue
        return queue is not None and not queue.empty()

    async def __aiter__(self) -> AsyncIterator[list[EventT[Any]]]:
        """Each group: the first record waited for, then what was buffered behind it."""
        events = aiter(self._stream.events())
        pending: asyncio.Future[EventT[Any]] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(events))
                try:
                    group = [await pending]
                except StopAsyncIteration:
                    return
                pending = None
                ended = False
                while len(group) < self._limit and await self._settled():
                    pending = asyncio.ensure_future(anext(events))
                    done, _ = await asyncio.wait({pending}, timeout=self._drain_wait_s)
                    if not done:  # a skipped record: this read goes on into the next group
                        break
                    try:
                        group.append(pending.result())
                    except StopAsyncIteration:
                        ended = True
                        break
                    finally:
                        if pending.done():
                            pending = None
                yield group
                if ended:
                    return
        finally:
            if pending is not None:
                pending.cancel()

    async def ack(self, group: Sequence[EventT[Any]]) -> None:
        """Acknowledge a processed group (its offsets become committable)."""
        for event in group:
            await self._stream.ack(event)


@contextmanager
def processing(event: EventT[Any]) -> Iterator[None]:
    """faust's current event set to ``event`` while the agent processes it."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
