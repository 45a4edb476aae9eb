"""SNA counts kept in the stream: one row per (accepted partition, day, cell), rebuilt on restart.

The correlate agent adds every accepted event to one row of its ``sna-counts`` table, keyed by
the accepted partition and what the event itself says: its occurrence day, council (empty
when its LSOA lies in none), LSOA, event type, agency and age band (:func:`place_of`). The
row holds the events it has counted, each as a short digest of its event id with the outcome
:func:`hub.sna.count.classify` gave it (counted under an agreement, or left out and why)::

    offset ‖ item ‖ size ‖ before ‖ n      (u64, u32, u32, u32, u16)
    then n outcomes, each u16 length ‖ UTF-8
    then the entries, each u16 outcome index ‖ 16-byte digest

``offset``, ``item`` and ``size`` are the position of the last event the row saw (the
accepted offset, the item's index in that record, the record's number of items) and
``before`` the number of entries before that record. A row counts **distinct events**:

- an event at or below the row's position was seen already (a partition is processed in
  order, so this is a redelivery after a crash) and is skipped;
- an event whose digest the row holds is the same event accepted again at a later offset
  (ingest writes a redelivered feed record to the accepted topic again, under the same event
  id and key, so on the same partition, with the same content, so in the same row): it moves
  the row's position on and counts nothing; its outcome is the first occurrence's, whatever
  the agreements in force at the copy would say;
- anything else is classified and added.

So a count is the number of distinct event ids of its first occurrences, which is what the
auditor counts again (:func:`hub.sna.count.count`), and the row needs no position to stay
exact: a lost write is redone on redelivery.

An accepted record may carry a batch of events: :class:`Counting` counts them in item order
with each row read and written once per record (what :func:`tally` does per event).

A release reads the rows back from the table's changelog (:mod:`hub.sna.snapshot`).
"""

from __future__ import annotations

import hashlib
import json
import operator
import struct
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache, partial

from hub.dsa import Evaluator
from hub.errors import MalformedRecordError
from hub.models import Event
from hub.models.accepted import Located
from hub.models.built import slot_setters
from hub.sna.count import Cell, CountContext, Verdict, age_band, classify

TABLE = "sna-counts"
"""The worker's table (and, with the app id, its changelog topic's name)."""
DIGEST_SIZE = 16
"""Bytes of an event id's digest: collisions cannot be found by trying (2^64 work)."""
_HEAD = struct.Struct(">QIIIH")
_LEN = struct.Struct(">H")
_ENTRY = struct.Struct(f">H{DIGEST_SIZE}s")
_COUNTED, _LEFT_OUT = "c:", "x:"
_MAX_OUTCOMES = 0xFFFF
_json_text = json.encoder.encode_basestring_ascii
"""A string as ``json.dumps`` writes it by default (quoted, escaped, ASCII)."""


def digest_of(event_id: str) -> bytes:
    """The short digest a row keeps of an event id."""
    # BLAKE2b-128 set up once and copied (0.76 → 0.42 µs: the constructor's keyword
    # parsing and parameter block are paid once); the same digest (tests).
    state = _BLAKE2B_128.copy()
    state.update(event_id.encode())
    return state.digest()


_BLAKE2B_128 = hashlib.blake2b(digest_size=DIGEST_SIZE)
"""An empty BLAKE2b state of :data:`DIGEST_SIZE` bytes, never updated itself: copied."""


@dataclass(frozen=True, slots=True, init=False)
class Mark:
    """Where in a partition an event was read: offset, item index, items in the record.

    One per event read: its ``__init__`` sets the fields through the class's slot
    descriptors, which a frozen dataclass's generated one reaches through
    ``object.__setattr__`` per field (0.45 → 0.2 µs; the same value: tests)."""

    offset: int
    item: int
    size: int = 1

    def __init__(self, offset: int, item: int, size: int = 1) -> None:
        _set_offset(self, offset)
        _set_item(self, item)
        _set_size(self, size)

    @property
    def last_of_record(self) -> bool:
        """Whether the record's every event has been read once this one has."""
        return self.item + 1 >= self.size


_set_offset, _set_item, _set_size = slot_setters(Mark, "offset", "item", "size")


@dataclass(frozen=True, slots=True)
class Place:
    """A row: the accepted partition and what the event says (day, area, type, agency, band)."""

    partition: int
    day: str
    council: str
    lsoa: str
    event_type: str
    agency: str
    age_band: str

    def key(self) -> bytes:
        """The row's key in the table."""
        # json.dumps([partition, day, ...], separators=(",", ":")), written directly: the
        # same bytes (each string as json writes it, ASCII-escaped) at a fraction of the cost.
        texts = (self.day, self.council, self.lsoa, self.event_type, self.agency, self.age_band)
        return f"[{int(self.partition)},{','.join(map(_json_text, texts))}]".encode()

    @classmethod
    def from_key(cls, key: bytes) -> Place:
        """Parse :meth:`key` (MalformedRecordError if unreadable)."""
        try:
            parts = json.loads(key)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
            raise MalformedRecordError("not an SNA count row") from exc
        match parts:
            case [int(p), str(day), str(council), str(lsoa), str(kind), str(agency), str(band)]:
                return cls(p, day, council, lsoa, kind, agency, band)
        raise MalformedRecordError("not an SNA count row")

    def verdict(self, outcome: str) -> Verdict:
        """The verdict an entry of this row with ``outcome`` stands for."""
        if outcome.startswith(_COUNTED) and self.council:
            cell = Cell(
                self.council, self.lsoa, self.day[:7], self.event_type, self.agency, self.age_band
            )
            return Verdict(self.day, cell, outcome[len(_COUNTED) :])
        if outcome.startswith(_LEFT_OUT):
            return Verdict(self.day, excluded=outcome[len(_LEFT_OUT) :])
        raise MalformedRecordError("not an SNA count outcome")


def place_of(partition: int, event: Event, council: str | None) -> Place:
    """The row an event is counted in (``council``: its LSOA's, None when in none)."""
    return Place(partition, *_fields(event, council))


def key_of(partition: int, event: Event, council: str | None) -> bytes:
    """``place_of(partition, event, council).key()``, without building the :class:`Place`."""
    return _key(f"[{int(partition)},", event, council)


def _key(opening: str, event: Event, council: str | None) -> bytes:
    """:func:`key_of` after the partition's opening (``[<partition>,``: made once a record)."""
    envelope = event.envelope
    return (
        f"{opening}{_day_text(envelope.occurred_at.date())},"
        f"{_area_text(council or '', envelope.lsoa)},"
        f"{_kind_text(event.event_type, envelope.agency_id, envelope.age)}]"
    ).encode()


# A row key's texts, remembered (each a pure function of small, repeating values; bounded).
# Per event: the day 0.4 µs as ISO text, the four strings 0.45 µs as JSON; remembered, the
# lookups 0.1 µs each (three: the type, agency and age band share one).


@lru_cache(maxsize=4096)
def _day_text(day: date) -> str:
    """A day as a row key writes it: its ISO text quoted (digits and hyphens: nothing to
    escape)."""
    return _json_text(day.isoformat())


@lru_cache(maxsize=16_384)
def _area_text(council: str, lsoa: str) -> str:
    """A row key's council and LSOA, as JSON strings."""
    return f"{_json_text(council)},{_json_text(lsoa)}"


@lru_cache(maxsize=4096)
def _kind_text(event_type: str, agency_id: str, age: int | None) -> str:
    """A row key's event type, agency and age band, as JSON strings (a type's agency is
    mostly one, and an age a small number)."""
    return f"{_json_text(event_type)},{_json_text(agency_id)},{_json_text(age_band(age))}"


def _fields(event: Event, council: str | None) -> tuple[str, str, str, str, str, str]:
    """A count row's fields after its partition, in :class:`Place`'s order."""
    envelope = event.envelope
    return (
        envelope.occurred_at.date().isoformat(),
        council or "",
        envelope.lsoa,
        event.event_type,
        envelope.agency_id,
        age_band(envelope.age),
    )


def outcome_of(verdict: Verdict) -> str:
    """How a row records a verdict: ``c:<agreement>`` or ``x:<reason>``."""
    return _LEFT_OUT + verdict.excluded if verdict.cell is None else _COUNTED + verdict.agreement


@dataclass(frozen=True, slots=True, init=False)
class Tallied:
    """A row's value: the mark of the last event seen, the entries before its record, the
    outcomes named, and the entries (outcome index and event id digest, in the order added).

    Built once per row an event moves (most events make a new row): its ``__init__`` sets
    the fields through the slot descriptors, as :class:`Mark`'s (0.55 → 0.3 µs)."""

    mark: Mark
    before: int
    outcomes: tuple[str, ...]
    entries: bytes = b""

    def __init__(
        self, mark: Mark, before: int, outcomes: tuple[str, ...], entries: bytes = b""
    ) -> None:
        _set_mark(self, mark)
        _set_before(self, before)
        _set_outcomes(self, outcomes)
        _set_entries(self, entries)

    @property
    def count(self) -> int:
        """Distinct events counted in the row."""
        return len(self.entries) // _ENTRY.size

    def holds(self, digest: bytes) -> bool:
        """Whether the row has counted the event with this id digest."""
        # bytes.find scans in C; a match counts only where an entry's digest starts.
        size, entries, at = _ENTRY.size, self.entries, 2
        while (at := entries.find(digest, at)) >= 0:
            if (at - 2) % size == 0:
                return True
            at += 1
        return False

    def to_bytes(self) -> bytes:
        """The row's stored body (sealed by the caller)."""
        m, outcomes = self.mark, self.outcomes
        head = _HEAD.pack(m.offset, m.item, m.size, self.before, len(outcomes))
        if len(outcomes) == 1:  # most rows: one outcome
            return head + _outcome_bytes(outcomes[0]) + self.entries
        return b"".join([head, *map(_outcome_bytes, outcomes), self.entries])

    @classmethod
    def from_bytes(cls, raw: bytes) -> Tallied:
        """Parse :meth:`to_bytes` (MalformedRecordError when it is not one)."""
        try:
            offset, item, size, before, n = _HEAD.unpack_from(raw)
            at, outcomes = _HEAD.size, []
            for _ in range(n):
                (length,) = _LEN.unpack_from(raw, at)
                outcomes.append(raw[at + 2 : at + 2 + length].decode())
                at += 2 + length
        except (struct.error, UnicodeDecodeError) as exc:
            raise MalformedRecordError("not an SNA count") from exc
        entries = raw[at:]
        if at > len(raw) or len(entries) % _ENTRY.size or before * _ENTRY.size > len(entries):
            raise MalformedRecordError("not an SNA count")
        if any(i >= n for i, _ in _ENTRY.iter_unpack(entries)):
            raise MalformedRecordError("an SNA count entry names no outcome")
        return cls(Mark(offset, item, size), before, tuple(outcomes), entries)

    def below(self, cutoff: int) -> Counter[str]:
        """Events by outcome over the records below offset ``cutoff`` (this row's last record
        included, or only the entries before it)."""
        entries = self.entries
        if self.mark.offset >= cutoff:
            entries = entries[: self.before * _ENTRY.size]
        return Counter(self.outcomes[i] for i, _ in _ENTRY.iter_unpack(entries))


@lru_cache(maxsize=1024)
def _outcome_bytes(outcome: str) -> bytes:
    """An outcome as a row stores it: u16 length ‖ UTF-8 (remembered: a row's outcomes are
    a few agreement names and reasons)."""
    raw = outcome.encode()
    return _LEN.pack(len(raw)) + raw


_set_mark, _set_before, _set_outcomes, _set_entries = slot_setters(
    Tallied, "mark", "before", "outcomes", "entries"
)


def advance(
    held: Tallied | None, mark: Mark, digest: bytes, outcome: Callable[[], str]
) -> Tallied | None:
    """The row once the event at ``mark`` with id ``digest`` is seen; None when it was seen
    at this position already. ``outcome`` classifies the event (asked only when it is new)."""
    if held is None:
        return Tallied(mark, 0, (outcome(),), _ENTRY.pack(0, digest))
    if (mark.offset, mark.item) <= (held.mark.offset, held.mark.item):
        return None
    before = held.before if held.mark.offset == mark.offset else held.count
    if held.holds(digest):
        return Tallied(mark, before, held.outcomes, held.entries)
    said, outcomes = outcome(), held.outcomes
    if said not in outcomes:
        if len(outcomes) >= _MAX_OUTCOMES:
            raise MalformedRecordError("an SNA count row with too many outcomes")
        outcomes = (*outcomes, said)
    entry = _ENTRY.pack(outcomes.index(said), digest)
    return Tallied(mark, before, outcomes, held.entries + entry)


def tally(
    seen: Located, mark: Mark, counter: CountContext, load: Callable[[bytes], bytes | None]
) -> tuple[bytes, Tallied] | None:
    """Count one accepted event read at ``mark``: its row and the row's new value, or None when
    it was seen at this position already. ``load`` gives a row's current body (None: no row)."""
    event = seen.event
    key = place_of(seen.partition, event, counter.areas.council(event.envelope.lsoa)).key()
    held = load(key)
    updated = advance(
        None if held is None else Tallied.from_bytes(held),
        mark,
        digest_of(event.event_id),
        lambda: outcome_of(classify(seen, counter)),
    )
    return None if updated is None else (key, updated)


class Remembered:
    """SNA outcomes, remembered across the records one worker counts (bounded).

    An outcome is a function of the event's type, agency, council and age band and of the
    agreements in force where it is decided: :func:`~hub.sna.count.classify` asks the
    evaluator of the record's position, with no consent, and the evaluator's answer depends
    on the moment only through the agreements in force then and the parties suspended then
    (:meth:`~hub.dsa.Evaluator.index_at`, :meth:`~hub.dsa.Evaluator.suspended_at`). So
    outcomes are kept per (evaluator, agreements in force, suspensions), those three held
    and compared by identity: an evaluator that built them afresh for each moment would
    only make every record decide its cells again.
    """

    def __init__(self, capacity: int = 65_536) -> None:
        self._capacity = capacity
        self._outcomes: dict[tuple[int, ...], tuple[tuple[object, ...], dict[CellKey, str]]] = {}

    def outcomes(self, evaluator: Evaluator, at: datetime) -> dict[CellKey, str]:
        """The outcomes decided so far under the agreements ``evaluator`` has in force at
        ``at``, by (type, agency, council, age); the caller adds those it decides."""
        parts = (evaluator, evaluator.index_at(at, aggregate=True), evaluator.suspended_at(at))
        ids = tuple(map(id, parts))
        known = self._outcomes.get(ids)
        if known is None or not all(map(operator.is_, known[0], parts)):
            if len(self._outcomes) >= _POLICIES_MAX:
                self._outcomes.clear()
            known = self._outcomes[ids] = (parts, {})
        if len(known[1]) >= self._capacity:
            known[1].clear()
        return known[1]


CellKey = tuple[str, str, str | None, int | None]
"""What an SNA outcome depends on besides the agreements: type, agency, council, age band
(:meth:`~hub.dsa.Evaluator.age_band`)."""
_POLICIES_MAX = 64


class Counting:
    """The rows one accepted record counts its events in: each read once, written once.

    :func:`tally` for every event of a record, in item order, with the rows kept decoded
    between the record's events; :meth:`changed` gives each row the record moved, once.
    Outcomes are decided once per cell under the agreements in force (:class:`Remembered`:
    the worker's, or the record's own when none is given).
    """

    def __init__(
        self,
        counter: CountContext,
        load: Callable[[bytes], bytes | None],
        remembered: Remembered | None = None,
    ) -> None:
        self._counter = counter
        self._load = load
        self._rows: dict[bytes, Tallied | None] = {}
        self._changed: dict[bytes, Tallied] = {}
        self._remembered = Remembered() if remembered is None else remembered
        self._decided: tuple[tuple[int, int, datetime], Evaluator, dict[CellKey, str]] | None = None

    def add_read(self, event: Event, partition: int, at: datetime, mark: Mark) -> None:
        """Count one event read at ``mark`` of ``partition`` (marks in the order read, as for
        :func:`tally`), in a record of time ``at``: its :class:`Located` (at ``mark``'s
        offset) is built only if its cell's outcome is not known yet. The service counts a
        record's events with :meth:`add_record`; this and :func:`tally` are the references
        its tests compare it with."""
        council = self._counter.areas.council(event.envelope.lsoa)
        key = key_of(partition, event, council)
        rows = self._rows
        if key in rows:
            held = rows[key]
        else:
            raw = self._load(key)
            held = rows[key] = None if raw is None else Tallied.from_bytes(raw)
        digest = digest_of(event.event_id)
        where = (partition, mark.offset, at)
        if held is None:  # most rows: a new one (advance's first case, without its closure)
            outcome = self._outcome(event, council, where)
            updated: Tallied | None = Tallied(mark, 0, (outcome,), _ENTRY.pack(0, digest))
        else:
            updated = advance(held, mark, digest, lambda: self._outcome(event, council, where))
        if updated is not None:
            rows[key] = self._changed[key] = updated

    def add_record(
        self, events: Sequence[Event], partition: int, offset: int, at: datetime
    ) -> list[str | None]:
        """:meth:`add_read` for every event of the record at ``offset`` of ``partition``
        (its items, in order), in a record of time ``at``: the agreements' outcomes, the
        lookups and the record's position are found once for all its events (the same rows
        and outcomes as event by event: tests). Returns each event's council (None: its
        LSOA is in none), which correlation folds the events with."""
        size = len(events)
        if not size:
            return []  # nothing to count: the agreements at the position are not asked
        where = (partition, offset, at)
        evaluator, decided = self._outcomes(where)
        council_of, age_band = self._counter.areas.council, evaluator.age_band
        rows, changed, load, outcome_for = self._rows, self._changed, self._load, self._outcome
        opening = f"[{int(partition)},"
        councils: list[str | None] = []
        for item, event in enumerate(events):
            envelope = event.envelope
            council = council_of(envelope.lsoa)
            councils.append(council)
            key = _key(opening, event, council)
            if key in rows:
                held = rows[key]
            else:
                raw = load(key)
                held = rows[key] = None if raw is None else Tallied.from_bytes(raw)
            digest = digest_of(envelope.event_id)
            mark = Mark(offset, item, size)
            if held is None:  # most rows: a new one (as in add_read)
                cell = (event.event_type, envelope.agency_id, council, age_band(envelope.age))
                said = decided.get(cell)
                if said is None:
                    said = outcome_for(event, council, where)
                updated: Tallied | None = Tallied(mark, 0, (said,), _ENTRY.pack(0, digest))
            else:
                updated = advance(held, mark, digest, partial(outcome_for, event, council, where))
            if updated is not None:
                rows[key] = changed[key] = updated
        return councils

    def changed(self) -> dict[bytes, Tallied]:
        """Every row the record moved, by key, with its value once the record is counted."""
        return dict(self._changed)

    def _outcome(self, event: Event, council: str | None, where: tuple[int, int, datetime]) -> str:
        """:func:`classify`'s outcome, decided once per cell under the agreements in force
        at ``where`` (the event's partition, offset and record time)."""
        envelope = event.envelope
        evaluator, decided = self._outcomes(where)
        # The outcome asks the age only of the agreements' age scopes: one per band.
        cell = (event.event_type, envelope.agency_id, council, evaluator.age_band(envelope.age))
        said = decided.get(cell)
        if said is None:
            seen = Located(where[0], where[1], where[2], event)
            said = decided[cell] = outcome_of(classify(seen, self._counter))
        return said

    def _outcomes(self, where: tuple[int, int, datetime]) -> tuple[Evaluator, dict[CellKey, str]]:
        """The evaluator and the outcomes under the agreements at a position (asked once a
        record: its events share their position and time)."""
        if self._decided is None or self._decided[0] != where:
            partition, offset, at = where
            evaluator = self._counter.evaluator_at(partition, offset)
            self._decided = (where, evaluator, self._remembered.outcomes(evaluator, at))
        return self._decided[1], self._decided[2]
