"""The SNA counts as a release reads them: the ``sna-counts`` changelog, authenticated.

Every changelog value must verify under the hub's internal key for the table, the changelog
partition and the row it was written for (``hub.crypto.tablevalue``), and the row must name
that same accepted partition; :meth:`Snapshot.add` raises for anything else and the reader
refuses it (``hub.refusal``). Of a row's genuine values the one with the highest mark is
kept, so a genuine old value appended again cannot roll a count back. A row counts distinct
event ids (:mod:`hub.sna.stream`), so an event accepted twice is counted once.

A partition's counts cover every record below its cut-off (:meth:`Snapshot.cutoff`): the
offset after the newest record whose every event was counted. A row whose last event lies in
a record counted only in part (a worker stopped in the middle of it) gives the count it had
before that record (:meth:`hub.sna.stream.Tallied.below`), so the figures are exactly those of
the records below the cut-off, which is what the auditor counts again.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.crypto.secret import HmacKey
from hub.crypto.tablevalue import Row, verify_value
from hub.errors import MalformedRecordError
from hub.sna.count import Counted, Period, add
from hub.sna.stream import TABLE, Place, Tallied


class Snapshot:
    """The newest genuine value of every row of the changelog read so far."""

    def __init__(self, keys: Callable[[str], HmacKey | None]) -> None:
        self._keys = keys
        self._rows: dict[bytes, tuple[Place, Tallied]] = {}

    def add(self, partition: int, key: bytes | None, value: bytes | None) -> None:
        """Fold in one changelog record read from ``partition`` (raises when it is not genuine)."""
        if key is None:
            raise MalformedRecordError("an SNA count without a row key")
        body = verify_value(self._keys, Row(TABLE, partition, key), value)
        place = Place.from_key(key)
        if place.partition != partition:
            raise MalformedRecordError("an SNA count on another partition's changelog")
        tallied = Tallied.from_bytes(body.value)
        for outcome in tallied.outcomes:
            place.verdict(outcome)  # raises for an outcome the row cannot hold
        held = self._rows.get(key)
        if held is None or _position(tallied) > _position(held[1]):
            self._rows[key] = (place, tallied)

    def cutoff(self) -> dict[int, int]:
        """Per accepted partition, the offset below which every event has been counted."""
        newest: dict[int, Tallied] = {}
        for place, tallied in self._rows.values():
            held = newest.get(place.partition)
            if held is None or _position(tallied) > _position(held):
                newest[place.partition] = tallied
        return {
            p: t.mark.offset + 1 if t.mark.last_of_record else t.mark.offset
            for p, t in newest.items()
        }

    def counted(self, period: Period, cutoff: dict[int, int]) -> Counted:
        """The counts of ``period``'s events in the records below ``cutoff``."""
        counted = Counted()
        start, end = period.start.isoformat(), period.end.isoformat()
        for place, tallied in self._rows.values():
            if not start <= place.day <= end:
                continue
            for outcome, n in tallied.below(cutoff.get(place.partition, 0)).items():
                add(counted, place.verdict(outcome), n)
        return counted


def _position(tallied: Tallied) -> tuple[int, int]:
    return tallied.mark.offset, tallied.mark.item
