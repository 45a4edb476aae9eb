"""SNA counts kept in the stream: one row per (accepted partition, tally), rebuilt on restart.

The correlate agent classifies every accepted event (:func:`hub.sna.count.classify`) and adds
it to one row of its ``sna-counts`` table, keyed by the accepted partition and the tally (the
event's occurrence day and either its cell and permitting agreement, or the reason it was
left out). A row holds::

    count ‖ offset ‖ item ‖ size ‖ before        (u64, u64, u32, u32, u64)

the count, the position of the last event added (the accepted offset, the item's index in
that record and the record's number of items), and the count before that record's first
event was added. Positions rise within a partition, which is processed in order, so an event
redelivered at or below the row's position was counted already and is skipped
(:func:`advance`): at-least-once delivery and a crash leave every count exact.

A release reads the rows back from the table's changelog (:mod:`hub.sna.snapshot`).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass

from hub.errors import MalformedRecordError
from hub.sna.count import Cell, CountContext, Seen, Verdict, classify

TABLE = "sna-counts"
"""The worker's table (and, with the app id, its changelog topic's name)."""
_VALUE = struct.Struct(">QQIIQ")


@dataclass(frozen=True, slots=True)
class Mark:
    """Where in a partition an event was read: offset, item index, items in the record."""

    offset: int
    item: int
    size: int = 1

    @property
    def last_of_record(self) -> bool:
        """Whether the record's every event has been read once this one has."""
        return self.item + 1 >= self.size


@dataclass(frozen=True, slots=True)
class Tallied:
    """A row's value: its count, the mark of the last event added, the count before its record."""

    count: int
    mark: Mark
    before: int

    def to_bytes(self) -> bytes:
        """The row's stored body (sealed by the caller)."""
        m = self.mark
        return _VALUE.pack(self.count, m.offset, m.item, m.size, self.before)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Tallied:
        """Parse :meth:`to_bytes` (MalformedRecordError when it is not one)."""
        if len(raw) != _VALUE.size:
            raise MalformedRecordError("not an SNA count")
        count, offset, item, size, before = _VALUE.unpack(raw)
        return cls(count, Mark(offset, item, size), before)

    def below(self, cutoff: int) -> int:
        """The count over the records below offset ``cutoff`` (this row's own or the one before)."""
        return self.count if self.mark.offset < cutoff else self.before


def advance(held: Tallied | None, mark: Mark) -> Tallied | None:
    """The row once the event at ``mark`` is added; None when it was counted already."""
    if held is None:
        return Tallied(1, mark, 0)
    if (mark.offset, mark.item) <= (held.mark.offset, held.mark.item):
        return None
    before = held.before if held.mark.offset == mark.offset else held.count
    return Tallied(held.count + 1, mark, before)


def row_key(partition: int, verdict: Verdict) -> bytes:
    """The row an event with ``verdict`` adds to, in accepted partition ``partition``."""
    if verdict.cell is None:
        parts = ["x", verdict.day, verdict.excluded]
    else:
        c = verdict.cell
        parts = ["c", verdict.day, c.council, c.lsoa, c.event_type, c.agency, c.age_band]
        parts.append(verdict.agreement)
    return json.dumps([partition, *parts], separators=(",", ":")).encode()


def verdict_of(key: bytes) -> tuple[int, Verdict]:
    """The accepted partition and verdict a row counts (MalformedRecordError if unreadable)."""
    try:
        parts = json.loads(key)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise MalformedRecordError("not an SNA count row") from exc
    match parts:
        case [int(partition), "x", str(day), str(reason)]:
            return partition, Verdict(day, excluded=reason)
        case [
            int(partition),
            "c",
            str(day),
            str(council),
            str(lsoa),
            str(kind),
            str(agency),
            str(band),
            str(agreement),
        ]:
            cell = Cell(council, lsoa, day[:7], kind, agency, band)
            return partition, Verdict(day, cell, agreement)
    raise MalformedRecordError("not an SNA count row")


def tally(
    seen: Seen, mark: Mark, counter: CountContext, load: Callable[[bytes], bytes | None]
) -> tuple[bytes, Tallied] | None:
    """Count one accepted event read at ``mark``: its row and the row's new value, or None when
    it was counted already. ``load`` gives a row's current body (None: no such row)."""
    key = row_key(seen.partition, classify(seen, counter))
    held = load(key)
    updated = advance(None if held is None else Tallied.from_bytes(held), mark)
    return None if updated is None else (key, updated)
