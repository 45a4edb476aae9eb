"""What the correlation service takes and returns, and what it reads through.

Inputs are typed values (:class:`Received`, a verified accepted-topic record), tables are read
through :class:`SealedTable` (a faust table in the worker, a dict in tests), the consent
feeds through :class:`ConsentBarrier`; outputs are records to write (:class:`Outgoing`), sealed
table rows to store (:class:`RowWrite`) and an :class:`Outcome` for the log line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hub.consent.ledger import ConsentLedger
from hub.crypto.record import Kind
from hub.disclosure import DecisionRecord, FeedMark
from hub.models.built import slot_setters


class SealedTable(Protocol):
    """A table of sealed values (``hub.crypto.tablevalue``) by row key, read-only here."""

    def get(self, key: bytes, /) -> bytes | None:
        """A row's sealed value, None when absent."""

    def items(self) -> Iterable[tuple[bytes, bytes]]:
        """Every row held, with its sealed value."""


class ConsentBarrier(Protocol):
    """The consent feeds, read to their end before a decision that could disclose on consent."""

    async def watermark(self) -> tuple[FeedMark, ...]:
        """Read the feeds to their end as of now; the positions read (``docs/consent.md``)."""

    def fold(
        self,
        token: str,
        ledger: ConsentLedger,
        at: datetime,
        below: Iterable[FeedMark] | None = None,
    ) -> ConsentLedger:
        """``ledger`` with the subject's ends read below ``below``, in effect from ``at``."""


@dataclass(frozen=True, slots=True)
class Received:
    """An accepted-topic record once verified where it was read: kind, items, time, place."""

    kind: Kind
    items: tuple[bytes, ...] = field(repr=False)
    at: datetime
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to send: the topic, the partition it is sealed for, its key and value."""

    topic: str
    partition: int
    key: bytes
    value: bytes = field(repr=False)


@dataclass(frozen=True, slots=True, init=False)
class RowWrite:
    """One table row to store: the table's name, the row's key and its sealed value.

    About two per event (its subject's row and an SNA row): built through its slot
    descriptors (:func:`hub.models.built.slot_setters`)."""

    table: str
    key: bytes
    value: bytes = field(repr=False)

    def __init__(self, table: str, key: bytes, value: bytes) -> None:
        _set_table(self, table)
        _set_key(self, key)
        _set_value(self, value)


_set_table, _set_key, _set_value = slot_setters(RowWrite, "table", "key", "value")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a record came to, for the log line: counts only, never identifiers."""

    kind: str
    """``events``, ``tick``, ``switch`` or ``refused``."""
    policy: int = 0
    events: int = 0
    alerts: int = 0
    area_alerts: int = 0
    not_contributing: int = 0
    withdrawn_on_receipt: int = 0
    subjects_changed: int = 0
    subjects_read: int = 0
    """Subjects a tick or a switch read from the table and re-decided (a tick: those the
    index of flagged subjects names, or every subject of the partition if it has none)."""
    reason: str | None = None
    """Why a record was refused."""

    @property
    def notable(self) -> bool:
        """Whether the record queued alerts or was a tick or a switch (logged at INFO, the
        rest at DEBUG): a tick's line says how long the partition's re-decision took."""
        return self.alerts > 0 or self.area_alerts > 0 or self.kind in {"tick", "switch"}

    def fields(self) -> dict[str, Any]:
        """The outcome as log fields (zero counts left out)."""
        found: dict[str, Any] = {"outcome": self.kind, "policy": self.policy}
        counts = {
            "events": self.events,
            "alerts": self.alerts,
            "area_alerts": self.area_alerts,
            "not_contributing": self.not_contributing,
            "withdrawn_on_receipt": self.withdrawn_on_receipt,
            "subjects_changed": self.subjects_changed,
            "subjects_read": self.subjects_read,
        }
        found |= {name: n for name, n in counts.items() if n}
        if self.reason is not None:
            found["reason"] = self.reason
        return found


@dataclass(frozen=True, slots=True)
class Result:
    """Everything one accepted record produced, in the order the adapter must write it.

    The outbox and decisions records go first; only once they are sent are the rows stored
    (see :class:`hub.correlation.Correlation`).
    """

    outcome: Outcome
    outbox: tuple[Outgoing, ...] = ()
    decisions: tuple[Outgoing, ...] = ()
    decided: tuple[DecisionRecord, ...] = field(default=(), repr=False)
    """The decision records the ``decisions`` records carry (for the worker's metrics)."""
    rows: tuple[RowWrite, ...] = ()
