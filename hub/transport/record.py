"""The values that cross the transport seam: a record read, and where a record was written.

They are the hub's own types, not aiokafka's, so code above the seam (and the in-memory
transport) never depends on the client library's structures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a topic's partition, as read back: bytes only, nothing trusted yet."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = ()
    timestamp_ms: int = 0


@dataclass(frozen=True, slots=True)
class Written:
    """Where the broker acknowledged a record: its partition and offset."""

    topic: str
    partition: int
    offset: int


#: What a reader does with each record; an error it lets escape refuses that record only.
Visit = Callable[[Record], None]
