"""A record handed to a faust stream as the worker's consumer hands it over, with no broker:
the agent under test reads it from a local channel, and faust's own acknowledgement of it is
readable on its ``Message`` (``message.acked``)."""

from __future__ import annotations

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
