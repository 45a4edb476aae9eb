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
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

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
        self.rebuilds = 0

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
        self._index[event_id] = position
        self._pending.setdefault(record, []).append(f"{event_id} {index}")

    def commit(self) -> None:
        """Store one row per record whose events were accepted since the last commit."""
        for record, lines in self._pending.items():
            self._indexed.add(record)
            stored = self._rows.get(record)
            # A redelivered record may accept fewer events than the first time (one has grown
            # too old since): the row keeps every event it ever accepted, so none is forgotten.
            kept = stored.splitlines() if stored else []
            self._rows[record] = "\n".join([*kept, *(x for x in lines if x not in kept)])
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
        lines = [*(self._rows.get(record) or "").splitlines(), *self._pending.pop(record, [])]
        for line in lines:
            event_id, _, index = line.partition(" ")
            if self._index.get(event_id) == (record if index == _SINGLE else f"{record}:{index}"):
                del self._index[event_id]
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
    parts = position.rsplit(":", 3)
    if len(parts) == 4:  # noqa: PLR2004  # topic, partition, offset, index
        return ":".join(parts[:3]), parts[3]
    return position, _SINGLE
