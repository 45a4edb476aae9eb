"""faust tables whose changelog records are verified before recovery applies them.

faust rebuilds a table by reading its changelog topic, which anyone who can reach the broker
can append to. Every value the hub stores carries a MAC bound to the table and the row and a
version (``hub.crypto.tablevalue``). On recovery (and on standby replicas) a changelog record
is applied only when its MAC verifies under the hub's internal key and its version is not
older than the row's newest one: a forged value, a deletion (the hub never deletes), a value
moved to another row or an old value appended again is refused, logged and counted
(``hub.refusal``), and the row keeps its newest genuine value.

The rows one record sets are written with :meth:`VerifiedTable.put_rows`: stored locally one
by one as faust would, but sent to the changelog as one packed record per table (per
``hub.crypto.packedrows.PACK_BUDGET`` bytes), so faust's cost is paid per record, not per
row. Recovery expands a pack into its rows and checks each as if it had come alone; a pack
that does not parse is refused whole.

faust queues a changelog record (``Table.send_changelog``: ``send_soon`` into its producer
buffer) and nobody awaits its delivery: one that fails is only logged by faust
(``Topic._on_published`` sets the exception on the record's ``FutureMessage`` and does not
call ``_on_changelog_sent``), and the record whose row it carried would be acknowledged with
the row in memory only. Inside :func:`changelog_sends`, every changelog record a
:class:`VerifiedTable` queues (:meth:`~VerifiedTable.put_rows`, or faust's own
``__setitem__``) is collected with its delivery, for the agent to wait for with its outputs
(``agents.sending.send_all``, which sends one that failed for a while again: the same row at
the same version, which recovery applies as it applied the first).
"""

from __future__ import annotations

from collections.abc import (
    Awaitable,
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    MutableMapping,
    Sequence,
)
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

import faust
import structlog
from faust.types import TP, EventT
from faust.types.tuples import FutureMessage

from agents.sending import Delivery, Queued
from hub.crypto import HmacKey
from hub.crypto.packedrows import (
    PACK_BUDGET,
    PackedRow,
    encode_rows,
    is_pack_key,
    pack_key,
    pack_rows,
    parse_rows,
)
from hub.crypto.tablevalue import Row, seal_value, value_of, verify_value
from hub.crypto.trust import RecordVerifier
from hub.errors import HubError, MalformedPackError, StaleValueError
from hub.refusal import Position, refused

log = structlog.get_logger("agents.tables")

_sends: ContextVar[list[Queued] | None] = ContextVar("changelog_sends", default=None)


@contextmanager
def changelog_sends() -> Iterator[list[Queued]]:
    """Collect the changelog records the tables queue inside (each with its delivery and how
    to send it again), for the agent to wait for before it acknowledges its record."""
    sent: list[Queued] = []
    token = _sends.set(sent)
    try:
        yield sent
    finally:
        _sends.reset(token)


class VerifiedTable(faust.Table[bytes, bytes]):
    """A table that applies only authentic, current changelog records.

    Keys and values are raw bytes: faust never fails to decode a changelog record of such a
    table, so every record reaches :meth:`apply_changelog_batch` (a record faust dropped as
    undecodable would never count towards the end of recovery, and the last one in a
    partition would keep the worker recovering for ever).
    """

    verifier: RecordVerifier | None = None
    packed: bool = False
    """Whether :meth:`put_rows` packs rows (every reader of the changelog must expand packs)."""
    on_recovered: list[Callable[[], Awaitable[None] | None]]
    """Called (and awaited if they return an awaitable) when recovery completed, after a
    start or a rebalance, before faust resumes the streams: the table changed."""

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        """Let readers that index the table know its rows changed under them."""
        await super().on_recovery_completed(active_tps, standby_tps)
        for callback in self.on_recovered:
            pending = callback()
            if pending is not None:
                await pending

    def put_rows(self, partition: int, rows: Sequence[PackedRow], origin: int) -> None:
        """Store ``rows`` (key, sealed value) and send them to the changelog, packed if
        :attr:`packed`.

        Called while the record at offset ``origin`` of ``partition`` is processed (a RocksDB
        store files a row under the current event's partition). Each pack is one changelog
        record; a pack of one row is sent as a plain row record, under the row's own key.
        faust's ``_on_changelog_sent`` still records the persisted offset of every record sent.
        """
        # raises for a key a reader would take for a pack's, before anything is stored
        packs = pack_rows(rows, PACK_BUDGET if self.packed else 0)  # budget 0: a row a record
        self.store_rows(rows)
        self._send_packs(partition, packs, origin)

    def send_rows(self, partition: int, rows: Sequence[PackedRow], origin: int) -> None:
        """Send ``rows`` to the changelog as :meth:`put_rows` does, without storing them: for
        an agent that stores them (:meth:`store_rows`) once the broker has them."""
        self._send_packs(partition, pack_rows(rows, PACK_BUDGET if self.packed else 0), origin)

    def store_rows(self, rows: Sequence[PackedRow]) -> None:
        """Store ``rows`` locally as faust's ``__setitem__`` does, without a changelog record."""
        store = self.data
        for key, value in rows:
            store[key] = value
            self._sensor_on_set(self, key, value)

    def _send_packs(
        self, partition: int, packs: Sequence[Sequence[PackedRow]], origin: int
    ) -> None:
        for chunk, pack in enumerate(packs):
            if len(pack) == 1:
                self.send_changelog(partition, *pack[0])
            else:
                key = pack_key(origin, chunk, (row for row, _ in pack))
                self.send_changelog(partition, key, encode_rows(pack))

    def send_changelog(
        self,
        partition: int | None,
        key: Any,
        value: Any,
        key_serializer: Any = None,
        value_serializer: Any = None,
    ) -> FutureMessage:
        """faust's, and inside :func:`changelog_sends` the record is collected with its
        delivery."""
        args = (partition, key, value, key_serializer, value_serializer)
        sent = super().send_changelog(*args)
        collected = _sends.get()
        if collected is not None:
            collected.append(Queued(sent, lambda: self._send_again(*args)))
        return sent

    async def _send_again(self, *args: Any) -> Delivery:
        """The same changelog record queued again (its row, at its version, once more)."""
        return cast("Delivery", super().send_changelog(*args))

    def apply_changelog_batch(self, batch: Iterable[EventT[bytes]]) -> None:
        """Apply the rows that verify; refuse the rest (never raises for a record)."""
        newest: dict[Any, int] = {}
        kept = [row for event in batch for row in self._rows_of(event) if self._admit(row, newest)]
        super().apply_changelog_batch(kept)

    def _rows_of(self, event: EventT[bytes]) -> Sequence[EventT[bytes]]:
        """A changelog record as row events: a pack's rows (none if it is malformed), or itself."""
        if not is_pack_key(event.key):
            return (event,)
        message = event.message
        try:
            rows = parse_rows(message.value)
        except MalformedPackError as exc:
            refused(Position(message.topic, message.partition, message.offset), exc)
            return ()
        return [_row_event(message, key, value) for key, value in rows]

    def _admit(self, event: EventT[bytes], newest: dict[Any, int]) -> bool:
        message = event.message
        try:
            version = self._checked(event, newest.get(event.key))
        except Exception as exc:  # noqa: BLE001  # a changelog record must never stop recovery
            refused(Position(message.topic, message.partition, message.offset), exc)
            return False
        newest[event.key] = version
        return True

    def _checked(self, event: EventT[bytes], held: int | None) -> int:
        """The version of a changelog record that verifies and is not older than ``held``."""
        assert self.verifier is not None  # noqa: S101  # set by verified_table()
        message = event.message
        row = (  # as the agents seal it: the row's key, on the partition it was written to
            Row(self.name, message.partition, event.key) if isinstance(event.key, bytes) else None
        )
        found = verify_value(self.verifier.internal_key, row, message.value)
        held = self._held_version(event.key) if held is None else held
        if held is not None and found.version < held:
            raise StaleValueError(found.version, held)
        return found.version

    def _held_version(self, key: Any) -> int | None:
        stored = self.data.get(key)
        return None if stored is None else value_of(stored).version


@dataclass(frozen=True, slots=True)
class _RowMessage:
    """One row of a packed changelog record, as faust's stores read a changelog message.

    It keeps the pack's topic, partition and offset, so a RocksDB store records the pack's
    offset as persisted once its rows are written.
    """

    topic: str
    partition: int
    offset: int
    tp: TP
    key: bytes
    value: bytes


@dataclass(frozen=True, slots=True)
class _RowEvent:
    """A row of a pack as a changelog event (what ``apply_changelog_batch`` reads of one)."""

    key: bytes
    value: bytes
    message: _RowMessage


def _row_event(message: Any, key: bytes, value: bytes) -> EventT[bytes]:
    row = _RowMessage(message.topic, message.partition, message.offset, message.tp, key, value)
    return cast("EventT[bytes]", _RowEvent(key, value, row))


def verified_table(
    app: faust.App, name: str, verifier: RecordVerifier, partitions: int, *, packed: bool = False
) -> VerifiedTable:
    """A :class:`VerifiedTable` of bytes keys and sealed bytes values, registered on ``app``.

    ``packed``: :meth:`VerifiedTable.put_rows` writes one changelog record per pack, not per row.
    """
    table = VerifiedTable(
        app,
        name=name,
        default=None,
        beacon=app.tables.beacon,
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
    )
    table.verifier = verifier
    table.packed = packed
    table.on_recovered = []
    app.tables.add(table)
    return table


class SealedRows(MutableMapping[str, str]):
    """A table of text values seen through its seals (the ingest de-duplication table).

    Values never change once written, so every write has version 0. ``partition`` is the
    partition of the record being processed (faust writes the changelog there): the agent
    sets it before each record.
    """

    def __init__(self, table: VerifiedTable, key: HmacKey) -> None:
        self._table = table
        self._key = key
        self.partition = 0

    def __getitem__(self, row: str) -> str:
        stored = self._table.get(row.encode())
        if stored is None:
            raise KeyError(row)
        return value_of(stored).value.decode()

    def __setitem__(self, row: str, value: str) -> None:
        place = Row(self._table.name, self.partition, row.encode())
        self._table[place.key] = seal_value(self._key, place, 0, value.encode())

    def put_many(self, partition: int, rows: Iterable[tuple[str, str]], origin: int) -> None:
        """Store many rows of ``partition`` with one changelog record (per pack) when the
        table is packed (:meth:`VerifiedTable.put_rows`), while the record at offset
        ``origin`` of that partition is processed."""
        sealed = []
        for row, value in rows:
            place = Row(self._table.name, partition, row.encode())
            sealed.append((place.key, seal_value(self._key, place, 0, value.encode())))
        self._table.put_rows(partition, sealed, origin)

    def __delitem__(self, row: str) -> None:
        raise NotImplementedError("the hub never deletes table rows")

    def __iter__(self) -> Iterator[str]:
        return (key.decode() for key in self._table)

    def __len__(self) -> int:
        return len(self._table)

    def items(self) -> ItemsView[str, str]:
        """Every row and its value, read together.

        Not one lookup per key: a RocksDB table looks a key up only in the partition of the
        record being processed, so ``self[key]`` misses the other partitions' rows.
        """
        return _SealedItems(self)

    def scan(self) -> Iterator[tuple[str, str]]:
        """Every row and its value, straight from the table's stores."""
        unreadable = 0
        for key, stored in self._table.items():
            try:
                yield key.decode(), value_of(stored).value.decode()
            except (HubError, UnicodeDecodeError):  # only the local store can hold such a row
                unreadable += 1
        if unreadable:
            log.warning("table_rows_unreadable", table=self._table.name, rows=unreadable)


class _SealedItems(ItemsView[str, str]):
    """The rows of a :class:`SealedRows`, read in one pass over the table."""

    _mapping: SealedRows

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return self._mapping.scan()
