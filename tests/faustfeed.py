"""A record handed to a faust stream as the worker's consumer hands it over, with no broker:
the agent under test reads it from a local channel, and faust's own acknowledgement of it is
readable on its ``Message`` (``message.acked``)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import faust
from faust.events import Event
from faust.types.tuples import Message


async def put_record(
    app: faust.App,
    channel: faust.ChannelT[bytes],
    *,
    topic: str,
    partition: int,
    offset: int,
    value: bytes,
    key: bytes = b"k",
) -> Message:
    """Put a record of ``topic``/``partition`` at ``offset`` on ``channel``; its message."""
    message = Message(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=1_800_000_000.0,
        timestamp_type=0,
        headers={},
        key=key,
        value=value,
        checksum=None,
        generation_id=app.consumer_generation_id,  # else faust skips (and acks) it
    )
    await channel.put(Event(app, key, value, {}, message))
    return message


def run_agent(app: faust.App, name: str, channel: faust.ChannelT[bytes]) -> asyncio.Future[Any]:
    """The worker's agent ``name`` reading a stream of ``channel``, as a task."""
    return asyncio.ensure_future(app.agents[name].fun(app.stream(channel)))


def close_app(app: faust.App) -> None:
    """Close the loop of the app's consumer thread, which a test's app never starts."""
    app.consumer._thread.thread_loop.close()  # type: ignore[attr-defined]


async def settle_loop() -> None:
    """Let the loop run what a finished task left scheduled (an async generator's close,
    which acknowledges the record faust's acking iterator was on)."""
    for _ in range(3):  # a full collection can take a second in a loaded test process
        gc.collect()
        for _ in range(10):
            await asyncio.sleep(0)
