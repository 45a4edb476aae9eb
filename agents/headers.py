"""Kafka records as faust hands them over: raw-bytes topics and headers in one shape."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import faust


def header_items(
    headers: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None,
) -> tuple[tuple[str, bytes], ...]:
    """A faust/aiokafka message's headers as ``(name, value)`` pairs, whichever shape they have."""
    if headers is None:
        return ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((str(k), bytes(v)) for k, v in items)


def raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    """A topic of raw bytes keys and values: the hub does its own encoding."""
    return app.topic(*names, key_type=bytes, value_type=bytes, value_serializer="raw")
