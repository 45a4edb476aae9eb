"""Accepted events, remembered between ingest and correlation in the same process.

Ingest decodes and validates every event; correlation, reading it back from the accepted
topic, needs the same :class:`~hub.models.Event` again. When both run in one worker (the
usual case) :func:`read_accepted` returns the event ingest validated from the very same
bytes with the same schemas, and the second decode and validation are skipped. Otherwise
(another worker, a restart, an event ingest saw long ago) it decodes and validates as
before. The result is the same either way: decoding and validation are pure functions of
the schemas and the bytes, and the timeliness check ingest adds can only refuse an event.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from hub.codec import SchemaStore
from hub.models.event import Event, validate_event

#: Events remembered, the newest kept: enough to cover the lag between the two agents.
CAPACITY = 8192
_recent: OrderedDict[tuple[bytes, bytes], Event] = OrderedDict()


def remember(store: SchemaStore, value: bytes, event: Event) -> None:
    """Note that ``value`` decoded with ``store`` and validated is ``event``."""
    _recent[(store.identity, value)] = event
    if len(_recent) > CAPACITY:
        _recent.popitem(last=False)


def read_accepted(store: SchemaStore, value: bytes) -> Event:
    """The event an accepted record holds (its bytes were validated at ingest)."""
    event = _recent.pop((store.identity, value), None)
    if event is not None:
        return event
    return validate_event(store.decode(value), clock=None)  # no timeliness: accepted already


@dataclass(frozen=True, slots=True)
class Located:
    """An accepted event and where it was read: partition, offset and the record's time."""

    partition: int
    offset: int
    at: datetime
    event: Event
