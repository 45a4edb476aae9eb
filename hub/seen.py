"""Which event ids ingest has accepted, and where: one stored row per feed record.

Ingest refuses an event id it already accepted at another feed position
(``duplicate_event``) and accepts a redelivery from the same position again. The table
behind this is state that must survive a crash and a rebalance, so every row is a changelog
record: one row per *event* made the hub pay a changelog record per event. Here a row is
one *feed record*::

    row key  "topic:partition:offset"            (the record's position)
    value    "event_id index" lines, one per accepted event ("-" for a single-event record)

and the lookup by event id is an in-memory index built from the rows before the first record
and again whenever the table changed under it: recovery after a crash or a rebalance fills
the table without this class seeing the writes, and the adapter says so
(:meth:`SeenEvents.invalidate`, from the table's recovery-completed hook). Nothing here asks
the table for its size: a RocksDB table counts its rows by reading them all. Rows written
before this format (key: an event id, value: its position) are read too. A row is written
once per record by :meth:`SeenEvents.commit`, after the record's events were checked, and
keeps what an earlier delivery of the record stored; :meth:`SeenEvents.forget` empties it
when ingest quarantines the whole record after storing it (rows are never deleted: the
table holds only sealed values).

A caller that stores many records' rows together (the ingest agent, one changelog record per
group of feed records and partition, ``agents/ingest.py``) calls :meth:`SeenEvents.hold`
first: the rows :meth:`SeenEvents.commit` makes are then kept (and read back as stored) until
:meth:`SeenEvents.unstored` hands them over, or :meth:`SeenEvents.drop_unstored` forgets them
when the group fails before they are stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping

_SINGLE = "-"


class SeenEvents(MutableMapping[str, str]):
    """Event id → the position it was accepted at, stored as one row per feed record.

    ``rows`` is the stored table (record position → entries). Setting an event's position
    takes effect at once for lookups (two copies of an id in one batch are caught) and is
    stored with its record's row by :meth:`commit`.
    """

    def __init__(self, rows: MutableMapping[str, str]) -> None:
        self._rows = rows
        self._index: dict[str, str] = {}
        self._indexed: set[str] = set()
        self._stale = True
        self._pending: dict[str, list[str]] = {}
        self._unstored: dict[str, str] | None = None
        """Rows committed since :meth:`hold`, not yet handed over; None: commit stores."""
        self._was_stored: dict[str, set[str]] = {}
        """The lines each held row's record had stored before (read when it was committed)."""
        self.rebuilds = 0

    def hold(self) -> None:
        """Keep the rows :meth:`commit` makes, until :meth:`unstored` hands them over."""
        if self._unstored is None:
            self._unstored = {}

    def unstored(self) -> dict[str, str]:
        """The rows committed since :meth:`hold` (record position → value), for the caller
        to store; commits store at once again."""
        held, self._unstored = self._unstored or {}, None
        self._was_stored.clear()
        return held

    def drop_unstored(self) -> None:
        """The rows held were never stored (their group failed first): forget the events
        they added to the index, as if never committed, so that processing the records
        again accepts them from the same positions. A row stored before keeps its events."""
        was_stored = dict(self._was_stored)
        for record, value in self.unstored().items():
            kept = was_stored.get(record, set())
            self._unindex(record, (x for x in value.splitlines() if x not in kept))

    def _stored(self, record: str) -> str | None:
        """A record's row: as held (not yet handed over) or as stored."""
        if self._unstored is not None and record in self._unstored:
            return self._unstored[record]
        return self._rows.get(record)

    def _unindex(self, record: str, lines: Iterable[str]) -> None:
        """Drop each event of ``lines`` whose indexed position is this record's."""
        for line in lines:
            event_id, _, index = line.partition(" ")
            if self._index.get(event_id) == (record if index == _SINGLE else f"{record}:{index}"):
                del self._index[event_id]

    def invalidate(self) -> None:
        """The rows changed behind this object's back: index them before the next lookup."""
        self._stale = True

    def refresh(self) -> None:
        """Index the rows this object did not write, if the table changed; else nothing."""
        if not self._stale:
            return
        self._stale = False
        for row, value in list(self._rows.items()):  # one pass: not a lookup per row
            if row not in self._indexed:
                self._index_row(row, value)
        self.rebuilds += 1

    def _index_row(self, row: str, value: str) -> None:
        self._indexed.add(row)
        if ":" not in row:  # a row of the per-event format: event id → position
            self._index.setdefault(row, value)
            return
        for line in value.splitlines():
            event_id, _, index = line.partition(" ")
            self._index.setdefault(event_id, row if index == _SINGLE else f"{row}:{index}")

    def __getitem__(self, event_id: str) -> str:
        return self._index[event_id]

    def get(self, event_id: str, default: str | None = None) -> str | None:  # type: ignore[override]  # Mapping.get's overloads, one signature here
        """The position ``event_id`` was accepted at, or ``default``: a miss (the usual case
        for a new event) raises no KeyError on the way, unlike ``Mapping.get``."""
        return self._index.get(event_id, default)

    def __setitem__(self, event_id: str, position: str) -> None:
        record, index = _split(position)
        self.add(event_id, record, index, position)

    def add(self, event_id: str, record: str, index: int | str, position: str) -> None:
        """``self[event_id] = position`` for event ``index`` of record ``record`` (``"-"``: a
        single-event record), whose position the caller has already built: not split again."""
        self._index[event_id] = position
        lines = self._pending.get(record)  # a record's first event makes its list, once
        if lines is None:
            lines = self._pending[record] = []
        lines.append(f"{event_id} {index}")

    def commit(self) -> None:
        """Store one row per record whose events were accepted since the last commit (or,
        after :meth:`hold`, keep it for :meth:`unstored`)."""
        for record, lines in self._pending.items():
            self._indexed.add(record)
            stored = self._stored(record)
            # A redelivered record may accept fewer events than the first time (one has grown
            # too old since): the row keeps every event it ever accepted, so none is forgotten.
            kept = stored.splitlines() if stored else []
            value = "\n".join([*kept, *(x for x in lines if x not in kept)])
            if self._unstored is not None:
                if record not in self._unstored:  # its first commit since hold: as stored
                    self._was_stored[record] = set(kept)
                self._unstored[record] = value
            else:
                self._rows[record] = value
        self._pending.clear()

    def forget(self, record: str) -> None:
        """Forget the events ``record`` (``topic:partition:offset``) accepted: ingest
        quarantined the record whole after storing them (its accepted record could never be
        sent), so none of them reached correlation, and a redrive of the quarantined record
        from another position must accept them, not refuse them as ``duplicate_event``.

        The row is emptied, not deleted (the table holds only sealed values). An event the
        record's row names but another record accepted first keeps that position. Should an
        earlier delivery of the record have sent its events (a crash before its
        acknowledgement), a redrive sends them again, which correlation absorbs: it keeps
        events by id.
        """
        held = self._unstored.pop(record, None) if self._unstored is not None else None
        self._was_stored.pop(record, None)
        stored = self._rows.get(record) or ""
        lines = [*stored.splitlines(), *(held or "").splitlines(), *self._pending.pop(record, [])]
        self._unindex(record, lines)
        if lines:
            self._rows[record] = ""
        self._indexed.add(record)

    def __delitem__(self, event_id: str) -> None:
        raise NotImplementedError("events are forgotten by record only (forget)")

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def _split(position: str) -> tuple[str, str]:
    """A position's record (``topic:partition:offset``) and its event index ("-": none)."""
    if position.count(":") >= 3:  # noqa: PLR2004  # topic, partition, offset, index
        record, _, index = position.rpartition(":")
        return record, index
    return position, _SINGLE
