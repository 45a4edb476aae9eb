"""Batch records in a backtest: one signature check per batch, each event run in its time.

An agency seals a batch of up to 256 events with one signature, and ``hub feed`` sends it as
one batch record (``hub.crypto.batchrecord``); the live hub verifies the record once (the
Merkle root of all its events, then the signature over it) and checks each event alone. A
backtest takes each event at its own time, so a record's events are taken apart by the
planner (:func:`taken_from`; :func:`events_of` makes a message of each), each marked as an
event of that record (its ``vru-seal`` header is :data:`BATCH_EVENT`, the record's bytes
travel with it), and the runner opens each record
once with :class:`BatchSeals`: parsed, its agency checked, its root recomputed from every
event and its signature verified, or refused with the error the live hub would give the
whole record (counted once per event, as the backtest counts events).

:class:`BatchSeals` is the :class:`~hub.crypto.batch.SealVerifier` ingest checks every
event's seal with: an event marked :data:`BATCH_EVENT` passes only if its exact bytes are an
event of a record it verified (and its seal is then that record's: agency and key, which
ingest compares with the event's envelope); anything else is checked as before, so a single
event with its own seal still passes, and a marked event is refused (``bad_signature``),
whoever marked it, unless it is an event of the very record the runner opened for it
(:meth:`BatchSeals.open` takes that record; a message that came alone vouches for none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from hub.agency import FeedMessage as SealedMessage
from hub.agency.message import Headers
from hub.crypto.batch import EventSeal, KeySource, SealVerifier
from hub.crypto.batchrecord import (
    BatchRecord,
    event_seals,
    is_batch_record,
    parse_batch_record,
)
from hub.crypto.keyfile import KeyInfo
from hub.crypto.keyring import agency_key_source
from hub.crypto.signing import VerifyKey
from hub.errors import AgencyMismatchError, BadSignatureError, HubError, UnknownAgencyError
from hub.ingest import SEAL_HEADER
from hub.merkle import MerkleTree
from hub.models.built import slot_setters
from hub.registry import Registry

BATCH_EVENT = b"vru-backtest/batch-event"
"""The seal header of an event taken from a batch record: "see the record it came with"."""


def events_of(message: SealedMessage) -> list[tuple[SealedMessage, bytes | None]]:
    """The messages ingest takes from a feed message, each with the batch record it came
    from: a batch record's events in order, each marked :data:`BATCH_EVENT`; anything else
    (a single event, or a record that claims to be a batch and does not parse: ingest
    refuses it whole) as it is, with None."""
    values, headers, batch = taken_from(message)
    if batch is None:
        return [(message, None)]
    return [(sealed_event(message.key, value, headers), batch) for value in values]


def taken_from(message: SealedMessage) -> tuple[Sequence[bytes], Headers, bytes | None]:
    """What :func:`events_of` takes from a feed message, before any per-event message is
    made: the values of its events, the headers each of them has, and the batch record they
    came from (None: the message is taken as it is, its own value and headers)."""
    if not is_batch_record(message.value):
        return (message.value,), message.headers, None
    try:
        record = parse_batch_record(message.value)
    except HubError:
        return (message.value,), message.headers, None
    kept = tuple((name, v) for name, v in message.headers if name != SEAL_HEADER)
    return record.events, (*kept, (SEAL_HEADER, BATCH_EVENT)), message.value


def sealed_event(key: bytes, value: bytes, headers: Headers) -> SealedMessage:
    """``SealedMessage(key, value, headers)``, made through its slots' descriptors (as
    :func:`hub.models.built.slot_setters` says: half its ``__init__``'s cost, for one made
    per event where one process runs the steps)."""
    message = _new(SealedMessage)
    _set_key(message, key)
    _set_value(message, value)
    _set_headers(message, headers)
    _set_partition(message, None)
    _set_events(message, 1)
    return message


_new = object.__new__
_set_key, _set_value, _set_headers, _set_partition, _set_events = slot_setters(
    SealedMessage, "key", "value", "headers", "partition", "events"
)


def single_events(message: SealedMessage) -> list[SealedMessage]:
    """A batch record as single-event messages, each with the seal derived from the record's
    signature (its inclusion proof: what a client sending one event a record sends); any
    other message as it is."""
    if not is_batch_record(message.value):
        return [message]
    record = parse_batch_record(message.value)
    kept = tuple((name, v) for name, v in message.headers if name != SEAL_HEADER)
    return [
        SealedMessage(message.key, event, (*kept, (SEAL_HEADER, seal.to_bytes())))
        for event, seal in zip(record.events, event_seals(record), strict=True)
    ]


class BatchSeals(SealVerifier):
    """A seal verifier that also vouches for the events of the batch records it opened."""

    def __init__(
        self,
        keys: Mapping[str, Iterable[VerifyKey]],
        cache_size: int = 4096,
        *,
        windows: Mapping[str, KeyInfo] | None = None,
        source: KeySource | None = None,
    ) -> None:
        super().__init__(keys, cache_size, windows=windows, source=source)
        self.agencies: frozenset[str] = frozenset(keys)
        """The agencies whose records it opens (the registry's, as the live hub's ingest)."""
        self._opened: dict[tuple[bytes, str], HubError | None] = {}
        self._members: dict[bytes, tuple[frozenset[bytes], EventSeal]] = {}
        self._current: tuple[frozenset[bytes], EventSeal] | None = None

    @classmethod
    def of_registry(cls, keys_dir: Path, registry: Registry) -> BatchSeals:
        """The registry's agencies' keys from the keyring under ``keys_dir`` (re-read as
        :meth:`SealVerifier.from_source` does)."""
        agencies = [a.id for a in registry.agencies]
        source = agency_key_source(keys_dir, agencies)
        keys = source()
        seals = cls(keys.keys, windows=keys.windows, source=source)
        seals.agencies = frozenset(agencies)
        return seals

    def open(self, record: bytes | None, feed_agency: str) -> HubError | None:
        """Verify a batch record of ``feed_agency``'s feed once (then remembered until
        :meth:`forget`), and take it as the record whose events :meth:`verify` vouches for
        next: None when it verified, else the error that refuses it. ``None`` (a message
        that came alone) vouches for no event: a message marked as a batch's is refused.

        Remembered per record and feed: a copy of one agency's record on another's feed is
        refused there without refusing the genuine record on its own feed."""
        self._current = None
        if record is None:
            return None
        opened = self._opened
        key = (record, feed_agency)
        if key in opened:
            found = opened[key]
        else:
            try:
                self._verify(record, parse_batch_record(record), feed_agency)
                found = None
            except HubError as exc:
                found = exc
            opened[key] = found
        if found is None:
            self._current = self._members[record]
        return found

    def _verify(self, raw: bytes, record: BatchRecord, feed_agency: str) -> None:
        """As the live hub opens a record: agency onboarded and the feed's, root and signature."""
        if record.agency_id not in self.agencies:
            raise UnknownAgencyError("batch names an agency that is not onboarded")
        if record.agency_id != feed_agency:
            raise AgencyMismatchError(f"batch is another agency's than feed {feed_agency!r}")
        tree = record.tree()
        self.verify_head(record.head(tree), record.signature)
        # Ingest reads a seal's agency and key only: every event of the record gets the
        # record's first event's seal (one inclusion proof per record, not one per event).
        self._members[raw] = (frozenset(record.events), event_seal(record, tree))

    def verify(
        self, event: bytes, seal: EventSeal | bytes, received_at: datetime | None = None
    ) -> EventSeal:
        """An event of a verified record (marked :data:`BATCH_EVENT`), else as
        :meth:`SealVerifier.verify`."""
        if seal != BATCH_EVENT:
            return super().verify(event, seal, received_at)
        current = self._current
        if current is None or event not in current[0]:
            raise BadSignatureError("event of no batch record this run verified")
        found = current[1]
        if received_at is not None:
            self.check_window(found.key_id, received_at)
        return found

    def forget(self) -> None:
        """Drop the records opened so far (a chunk's: the next chunk's are others)."""
        self._opened.clear()
        self._members.clear()
        self._current = None


def event_seal(record: BatchRecord, tree: MerkleTree) -> EventSeal:
    """The seal of a record's first event."""
    size = len(record.events)
    proof = tuple(tree.inclusion_proof(0))
    return EventSeal(
        record.agency_id, record.key_id, record.batch_id, size, 0, proof, record.signature
    )
