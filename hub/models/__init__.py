"""Validated events: what the hub accepts after decoding.

::

    event = validate_event(store.decode(data))   # hub.errors.ValidationError names the field
"""

from hub.models.accepted import read_accepted, remember
from hub.models.envelope import Envelope
from hub.models.event import Clock, Event, validate_event, wall_clock
from hub.models.timing import (
    MAX_CLOCK_SKEW,
    MAX_EVENT_AGE,
    EventInFutureError,
    EventTooOldError,
    check_timeliness,
)

__all__ = [
    "MAX_CLOCK_SKEW",
    "MAX_EVENT_AGE",
    "Clock",
    "Envelope",
    "Event",
    "EventInFutureError",
    "EventTooOldError",
    "check_timeliness",
    "read_accepted",
    "remember",
    "validate_event",
    "wall_clock",
]
