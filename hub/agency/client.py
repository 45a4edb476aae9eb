"""The agency SDK's core: drafts in, sealed feed messages out. Pure: no Kafka, no I/O.

::

    client = AgencyClient(AgencyKeys("education", linkage_key, signing_key), store)
    for batch in client.batches(numbered_drafts):      # one Ed25519 signature per batch
        ...send batch.record (or batch.messages), record batch.rejects...
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.agency.draft import EventDraft
from hub.agency.message import SEAL_HEADER, FeedMessage
from hub.agency.record import build_record
from hub.codec import SchemaStore
from hub.crypto.batch import seal_batch
from hub.crypto.batchrecord import BatchRecord
from hub.crypto.secret import HmacKey
from hub.crypto.signing import SigningKey
from hub.errors import HubError, ValidationError
from hub.models import validate_event
from hub.transport.partitioner import partition_for

DEFAULT_BATCH = 256


@dataclass(frozen=True, slots=True)
class AgencyKeys:
    """Who the agency is and the two keys it holds: the shared linkage key and its signing key."""

    agency_id: str
    linkage_key: HmacKey
    signing_key: SigningKey


@dataclass(frozen=True, slots=True)
class Prepared:
    """One pseudonymised, encoded, validated event, not yet sealed."""

    key: bytes
    value: bytes
    event_id: str
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Reject:
    """A source row the SDK refused, with the error's reason code; never the row's values."""

    line: int
    reason: str
    error: str
    detail: str

    @classmethod
    def of(cls, line: int, exc: HubError) -> Reject:
        """The reject for ``exc`` (its message names fields, never values)."""
        return cls(line, exc.reason, type(exc).__name__, str(exc)[:300])


@dataclass(frozen=True, slots=True)
class Batch:
    """Sealed messages of one batch, and the rows rejected while it was filled."""

    messages: tuple[FeedMessage, ...]
    rejects: tuple[Reject, ...]
    lines: int
    occurred: tuple[datetime, ...] = ()
    """When each sealed event occurred (where known): what the rules' windows are judged on."""
    record: FeedMessage | None = None
    """The same sealed batch as one batch record (what ``send_feed`` sends by default)."""

    def wire(self, *, batch_records: bool = True) -> tuple[FeedMessage, ...]:
        """What to send: the batch record, or one single-event message per event."""
        if batch_records and self.record is not None:
            return (self.record,)
        return self.messages


Numbered = tuple[int, "EventDraft | Prepared | HubError"]
"""A source row's line number and its draft (or prepared event), or the error that stopped it."""


class AgencyClient:
    """Pseudonymises, encodes, validates and seals an agency's events."""

    def __init__(
        self,
        keys: AgencyKeys,
        store: SchemaStore,
        event_types: Iterable[str] | None = None,
        batch_size: int = DEFAULT_BATCH,
        partitions: int = 1,
        *,
        batch_records: bool = True,
    ) -> None:
        if batch_size < 1 or partitions < 1:
            raise ValueError("batch_size and partitions must be at least 1")
        self.partitions = partitions
        """The feed topic's partitions: a batch holds events of one partition's keys only."""
        self.batch_records = batch_records
        """Whether batches go as batch records (else as single-event messages)."""
        self._keys = keys
        self._store = store
        self._types = frozenset(event_types) if event_types is not None else None
        self.batch_size = batch_size

    @property
    def agency_id(self) -> str:
        """The agency this client publishes as."""
        return self._keys.agency_id

    def prepare(self, draft: EventDraft) -> Prepared:
        """Token, encode and validate one draft as the hub will; HubError names the problem."""
        if self._types is not None and draft.event_type not in self._types:
            raise ValidationError("event_type: not one of this agency's event types")
        keys = self._keys
        record = build_record(draft, keys.agency_id, keys.linkage_key, keys.signing_key.key_id)
        value = self._store.encode(draft.event_type, record)
        event = validate_event(self._store.decode(value))
        key = event.subject_token or event.envelope.lsoa
        return Prepared(key.encode("ascii"), value, event.event_id, event.envelope.occurred_at)

    def _try_prepare(self, draft: EventDraft) -> Prepared | HubError:
        try:
            return self.prepare(draft)
        except HubError as exc:
            return exc

    def seal(self, prepared: Sequence[Prepared]) -> list[FeedMessage]:
        """One signature over the batch; each message carries its seal (with inclusion proof)."""
        keys = self._keys
        seals = seal_batch([p.value for p in prepared], keys.signing_key, keys.agency_id)
        return [
            FeedMessage(p.key, p.value, ((SEAL_HEADER, s.to_bytes()),))
            for p, s in zip(prepared, seals, strict=True)
        ]

    def messages(self, drafts: Iterable[EventDraft]) -> list[FeedMessage]:
        """Every draft prepared and sealed in batches; the first bad draft raises."""
        out: list[FeedMessage] = []
        pending = [self.prepare(d) for d in drafts]
        for start in range(0, len(pending), self.batch_size):
            out.extend(self.seal(pending[start : start + self.batch_size]))
        return out

    def batches(self, rows: Iterable[Numbered]) -> Iterator[Batch]:
        """Sealed batches of up to ``batch_size`` events; bad rows become rejects, in order.

        Events are batched by the feed partition their key goes to, so one subject's events
        stay on one partition, in order, whether sent one by one or as batch records.
        """
        buckets: dict[int, list[Prepared]] = {}
        rejects: list[Reject] = []
        lines = 0
        for line, item in rows:
            lines += 1
            outcome = item if isinstance(item, HubError | Prepared) else self._try_prepare(item)
            if isinstance(outcome, HubError):
                rejects.append(Reject.of(line, outcome))
                continue
            partition = partition_for(outcome.key, self.partitions)
            bucket = buckets.setdefault(partition, [])
            bucket.append(outcome)
            if len(bucket) >= self.batch_size:
                yield self._batch(buckets.pop(partition), rejects, lines, partition)
                rejects, lines = [], 0
        for partition, bucket in buckets.items():
            yield self._batch(bucket, rejects, lines, partition)
            rejects, lines = [], 0
        if rejects or lines:
            yield self._batch([], rejects, lines, None)

    def records(self, prepared: Iterable[Prepared]) -> list[FeedMessage]:
        """Prepared events as batch records of up to ``batch_size``, one feed partition each."""
        batches = self.batches(enumerate(prepared, start=1))
        return [b.record for b in batches if b.record is not None]

    def _batch(
        self, pending: list[Prepared], rejects: list[Reject], lines: int, partition: int | None
    ) -> Batch:
        occurred = tuple(p.occurred_at for p in pending if p.occurred_at is not None)
        if not pending:
            return Batch((), tuple(rejects), lines, occurred)
        keys = self._keys
        seals = seal_batch([p.value for p in pending], keys.signing_key, keys.agency_id)
        sealed = tuple(
            FeedMessage(p.key, p.value, ((SEAL_HEADER, s.to_bytes()),))
            for p, s in zip(pending, seals, strict=True)
        )
        if not self.batch_records:
            return Batch(sealed, tuple(rejects), lines, occurred)
        first = seals[0]
        values = tuple(p.value for p in pending)
        record = BatchRecord(keys.agency_id, first.key_id, first.batch_id, values, first.signature)
        at = partition if self.partitions > 1 else None
        wire = FeedMessage(pending[0].key, record.to_bytes(), (), at, len(pending))
        return Batch(sealed, tuple(rejects), lines, occurred, wire)
