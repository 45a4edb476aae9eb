"""Validated events: what the hub accepts after decoding.

::

    event = validate_event(store.decode(data))   # hub.errors.ValidationError names the field
"""

from hub.models.envelope import Envelope
from hub.models.event import Event, validate_event

__all__ = ["Envelope", "Event", "validate_event"]
