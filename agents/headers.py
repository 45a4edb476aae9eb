"""Kafka records as faust hands them over: raw-bytes topics and headers in one shape."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import faust


def header_items(
    headers: Mapping[str, bytes | None] | Iterable[tuple[str, bytes | None]] | None,
) -> tuple[tuple[str, bytes], ...]:
    """A faust/aiokafka message's headers as ``(name, value)`` pairs, whichever shape they have.

    Kafka allows a header without a value (null): it comes out as empty bytes, so no header a
    producer can write makes a reader fail.
    """
    if headers is None:
        return ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((str(k), bytes(v) if v is not None else b"") for k, v in items)


def raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    """A topic of raw bytes keys and values: the hub does its own encoding."""
    return app.topic(*names, key_type=bytes, value_type=bytes, value_serializer="raw")
