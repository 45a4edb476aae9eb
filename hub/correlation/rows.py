"""The table rows one accepted record reads and writes: each read once, kept decoded, written once.

A record may carry many events (a batch from ingest). Their subjects' states, the areas'
counts and the partition's policy row are read from the table the first time the record
needs them, kept decoded while the record's other events use them, and sealed once each when
the record is done (:meth:`Rows.writes`). Each write is versioned by the record's offset and
never below the version the row held, so a redelivered record rewrites the same rows at the
same version and an older value can never replace a newer one (``agents/tables.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.correlation.values import RowWrite, SealedTable
from hub.crypto import HmacKey
from hub.crypto.tablevalue import Sealing, unwrapped, value_of
from hub.disclosure import SubjectState, keep_decoded
from hub.hotspot import AreaState

Value = SubjectState | AreaState | bytes
"""A row's value as the service uses it: a subject's state, an area's counts, or raw bytes."""


@dataclass(frozen=True, slots=True)
class Where:
    """The table, and the partition and offset of the record being processed."""

    table: str
    partition: int
    offset: int


class Rows:
    """The rows of one table that one record touches (one instance per record)."""

    def __init__(self, table: SealedTable, where: Where, key: HmacKey) -> None:
        self._table = table
        self._where = where
        self._key = key
        self._held: dict[str, int] = {}
        self._current: dict[str, Value | None] = {}
        self._dirty: dict[str, None] = {}  # insertion-ordered set: rows written, in order
        self._decoded: dict[str, bytes] = {}  # subjects' stored bytes, where decoded from them

    def raw(self, row: str) -> bytes | None:
        """A row's bytes (None if absent), read from the table once per record."""
        return _raw(self._read(row))

    def subject(self, token: str) -> SubjectState:
        """A subject's state (empty for a new subject), decoded once per record."""
        if token in self._current:
            current = self._current[token]
            if isinstance(current, SubjectState):
                return current
            data = _raw(current)
        else:
            data = self._unread(token)
        state = SubjectState.from_bytes(data)
        self._current[token] = state
        if data:
            self._decoded[token] = data
        return state

    def area(self, row: str) -> AreaState:
        """An area's counts (empty for a new area), decoded once per record."""
        current = self._read(row)
        if isinstance(current, AreaState):
            return current
        state = AreaState.from_bytes(_raw(current))
        self._current[row] = state
        return state

    def seen(self, row: str, stored: bytes) -> SubjectState:
        """A subject's state from a value the caller read by iterating the table."""
        if row in self._current:
            return self.subject(row)
        held = value_of(stored)
        self._held[row] = held.version
        state = SubjectState.from_bytes(held.value)
        self._current[row] = state
        if held.value:
            self._decoded[row] = held.value
        return state

    def put(self, row: str, value: Value) -> None:
        """Set a row's new value: stored once, by :meth:`writes`, whatever the number of puts."""
        if row not in self._held:
            self._read(row)
        self._current[row] = value
        self._dirty[row] = None

    def forget(self, row: str) -> None:
        """Drop a row read but left unchanged (a rescan reads every subject; few change)."""
        if row not in self._dirty:
            state = self._current.pop(row, None)
            data = self._decoded.pop(row, None)
            if data and isinstance(state, SubjectState):
                keep_decoded(data, state)  # as :meth:`writes` does
            self._held.pop(row, None)

    def writes(self) -> tuple[RowWrite, ...]:
        """The rows written, each sealed once, in the order first written.

        A subject's state read and left unchanged is handed back to the decoded states
        (:func:`hub.disclosure.keep_decoded`): reading a state takes it from them, and the next
        record to read the same bytes need not parse them again.
        """
        for row, data in self._decoded.items():
            state = self._current.get(row)
            if row not in self._dirty and isinstance(state, SubjectState):
                keep_decoded(data, state)
        where = self._where
        table, offset, held, current = where.table, where.offset, self._held, self._current
        seal = Sealing(self._key, table, where.partition).seal
        found = []
        for row in self._dirty:
            body = _raw(current[row]) or b""
            key = row.encode()
            version = max(held.get(row, 0), offset)
            found.append(RowWrite(table, key, seal(key, version, body)))
        return tuple(found)

    def _read(self, row: str) -> Value | None:
        if row in self._current:
            return self._current[row]
        value = self._current[row] = self._unread(row)
        return value

    def _unread(self, row: str) -> bytes | None:
        """A row's value read from the table (None if absent), its version held."""
        stored = self._table.get(row.encode())
        if stored is None:
            self._held[row] = 0
            return None
        self._held[row], value = unwrapped(stored)
        return value


def _raw(value: Value | None) -> bytes | None:
    return value if value is None or isinstance(value, bytes) else value.to_bytes()
