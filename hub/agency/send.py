"""Feeding files and replays through the SDK to the broker.

:class:`FileFeed` is pure (rows in, sealed batches and rejected rows out); :func:`send_feed`
and :func:`send_drafts` put the batches on the agency's feed topic and wait for the acks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.agency.client import AgencyClient, AgencyKeys, Batch, Numbered, Reject
from hub.agency.draft import EventDraft
from hub.agency.mapping import RowMapper
from hub.agency.producer import FeedProducer
from hub.agency.rows import Row
from hub.crypto.keyfile import KeyKind
from hub.crypto.keyring import AGENCIES, Keyring, agency_owner
from hub.errors import HubError


def agency_keys(keyring: Keyring, agency_id: str) -> AgencyKeys:
    """The agency's current signing key and the agencies' current linkage key; KeyringError."""
    return AgencyKeys(
        agency_id,
        keyring.hmac_key(AGENCIES, KeyKind.LINKAGE),
        keyring.signing_key(agency_owner(agency_id)),
    )


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A reject with the source row it came from (None when the line could not be read)."""

    reject: Reject
    row: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class FileBatch:
    """One sealed batch and the rows rejected since the previous one."""

    batch: Batch
    rejected: tuple[RejectedRow, ...]


@dataclass
class SendReport:
    """What a send did: rows read, events sent, rows rejected by reason, batches signed.

    ``outside_every_window`` counts the events sent that occurred before ``cutoff`` (the
    hub's clock less the longest rule window, when the sender gives it): the hub accepts
    them, but they can raise no flag. A historical replay says so instead of being silent.
    """

    rows: int = 0
    sent: int = 0
    batches: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    cutoff: datetime | None = None
    outside_every_window: int = 0

    def add(self, batch: Batch, sent: int) -> None:
        """Count one batch whose ``sent`` messages the broker acknowledged."""
        self.rows += batch.lines
        self.rejected.update(r.reason for r in batch.rejects)
        if not sent:
            return
        self.sent += sent
        self.batches += 1
        if self.cutoff is not None:
            self.outside_every_window += sum(1 for t in batch.occurred if t < self.cutoff)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts (no row content)."""
        found = {
            "rows": self.rows,
            "sent": self.sent,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(sorted(self.rejected.items())),
            "batches": self.batches,
        }
        if self.cutoff is not None:
            found["outside_every_window"] = self.outside_every_window
        return found


@dataclass(frozen=True, slots=True)
class FileFeed:
    """An agency's export file turned into sealed batches by a mapping and a client."""

    client: AgencyClient
    mapper: RowMapper

    def batches(self, rows: Iterable[Row]) -> Iterator[FileBatch]:
        """Sealed batches in file order, each with the rows rejected while it was filled."""
        window: dict[int, Mapping[str, Any]] = {}

        def numbered() -> Iterator[Numbered]:
            for line, row in rows:
                if isinstance(row, HubError):
                    yield line, row
                    continue
                window[line] = row
                yield line, self._draft(row)

        for batch in self.client.batches(numbered()):
            rejected = tuple(RejectedRow(r, window.get(r.line)) for r in batch.rejects)
            window.clear()
            yield FileBatch(batch, rejected)

    def _draft(self, row: Mapping[str, Any]) -> EventDraft | HubError:
        try:
            return self.mapper.draft(row)
        except HubError as exc:
            return exc


async def send_feed(
    feed: FileFeed,
    rows: Iterable[Row],
    producer: FeedProducer,
    topic: str,
    *,
    on_batch: Callable[[FileBatch], None] | None = None,
    cutoff: datetime | None = None,
    batch_records: bool = True,
) -> SendReport:
    """Send every sealed batch of ``rows`` to ``topic``; ``on_batch`` sees each after its acks.

    Each batch goes as one batch record, or with ``batch_records=False`` as one single-event
    message per event. With ``cutoff``, the report counts the events sent that occurred
    before it.
    """
    report = SendReport(cutoff=cutoff)
    for item in feed.batches(rows):
        wire = item.batch.wire(batch_records=batch_records)
        sent = await producer.send(topic, wire) if wire else 0
        report.add(item.batch, sent)
        if on_batch is not None:
            on_batch(item)
    return report


async def send_drafts(
    client: AgencyClient,
    drafts: Iterable[EventDraft],
    producer: FeedProducer,
    topic: str,
    *,
    cutoff: datetime | None = None,
    batch_records: bool = True,
) -> SendReport:
    """Send replayed drafts (police replay, synthetic partner events) in sealed batches."""
    report = SendReport(cutoff=cutoff)
    for batch in client.batches(enumerate(drafts, start=1)):
        wire = batch.wire(batch_records=batch_records)
        sent = await producer.send(topic, wire) if wire else 0
        report.add(batch, sent)
    return report
