"""The ingest step: raw feed records in, the messages they cause out.

Pure: no Kafka here. The faust adapter (``agents/``) reads a group of feed records (what its
stream had buffered), routes each with :meth:`Ingest.route_record`, seals the group's
accepted events with :meth:`Ingest.seal_group` (one accepted record per destination partition
for the whole group) and sends what comes back; :meth:`Ingest.process_record` does both for
one record. A feed record is one event
(single-object Avro with its ``vru-seal`` header) or one sealed batch of events
(``hub.crypto.batchrecord``): a batch's signature is verified once, then every event is
checked alone. Every event ends either accepted or quarantined with a reason: nothing raises
out of ``process_record``.

::

    ingest = Ingest(ctx)
    seen = SeenEvents(rows)                 # hub.seen: one stored row per feed record
    routed = [(m, ingest.route_record(m, seen)) for m in messages]   # one seen row each
    for out in ingest.seal_group(routed):   # accepted per partition, then quarantine records
        ...send out...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple, TypeVar

from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import HmacKey, SealVerifier
from hub.crypto.batchrecord import BatchRecord, event_seals, is_batch_record, parse_batch_record
from hub.crypto.record import Kind, Place
from hub.crypto.sealcodec import EventSeal
from hub.crypto.trust import seal_record
from hub.errors import (
    AgencyMismatchError,
    BadSignatureError,
    DuplicateEventError,
    HubError,
    UnknownAgencyError,
    UnknownAreaError,
)
from hub.geo import AreaLookup
from hub.merkle import MerkleTree
from hub.models import Clock, Event, remember, validate_event, wall_clock
from hub.models.built import slot_setters
from hub.quarantine import SourceRef, quarantine
from hub.registry import Registry
from hub.retention import MAX_MESSAGE_BYTES
from hub.seen import SeenEvents
from hub.transport.partitioner import partition_for

#: Kafka header carrying the agency's batch seal (``hub.crypto.sealcodec``).
SEAL_HEADER = "vru-seal"
#: Kafka header on accepted events naming their feed position (``topic:partition:offset``).
SOURCE_HEADER = "vru-source"

#: The most event bytes :meth:`Ingest.seal_group` puts in one accepted record: half of the
#: largest record a topic takes, as the correlation outbox's ``RECORD_BUDGET``.
ACCEPTED_BUDGET = MAX_MESSAGE_BYTES // 2

Headers = tuple[tuple[str, bytes], ...]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FeedMessage:
    """One message read from an agency feed, with its key and headers as received."""

    value: bytes
    key: bytes | None
    headers: Headers
    source: SourceRef
    feed_agency: str
    received_at: datetime | None = None
    """When the hub received the message: the feed record's timestamp (``docs/keys.md``)."""

    @property
    def seal(self) -> bytes | None:
        """The agency's batch seal, if the message carries one (its first ``vru-seal``)."""
        for name, value in self.headers:  # a loop: no generator made per message
            if name == SEAL_HEADER:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message to publish."""

    topic: str
    key: bytes | None
    value: bytes
    headers: Headers = ()
    partition: int | None = None
    """The partition an authenticated record was sealed for (None: the producer chooses)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one input message."""

    status: Literal["accepted", "quarantined"]
    reason: str
    event_id: str | None
    messages: tuple[Outbound, ...]
    error: str | None = None
    index: int | None = None
    """The event's index in its batch record (None: a single-event record, or the whole one)."""


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What became of one feed record: each event's outcome and every message to publish.

    ``messages`` holds one accepted record per destination partition (its events in input
    order), then one quarantine record per refused event (or one for a refused record).
    """

    outcomes: tuple[Outcome, ...]
    messages: tuple[Outbound, ...]

    @property
    def accepted(self) -> int:
        """How many of the record's events were accepted."""
        return sum(1 for o in self.outcomes if o.status == "accepted")


def accepted_outcome(event_id: str, index: int | None) -> Outcome:
    """``Outcome("accepted", "accepted", event_id, (), None, index)``: an event's accepted
    outcome (``index`` None: a single-event record's), one per event, built without the
    frozen dataclass's ``__init__``.

    That ``__init__`` sets each of the six fields through ``object.__setattr__`` (0.75 µs);
    setting them through the class's own slot descriptors, as ``__init__`` does in the end,
    gives the same value in half the time (test: equal, field for field, to the one built).
    """
    outcome = _new(Outcome)
    _set_status(outcome, "accepted")
    _set_reason(outcome, "accepted")
    _set_event_id(outcome, event_id)
    _set_messages(outcome, ())
    _set_error(outcome, None)
    _set_index(outcome, index)
    return outcome


_new = object.__new__
# Outcome's slot descriptors (a frozen dataclass refuses its own __setattr__, not theirs).
_set_status, _set_reason, _set_event_id, _set_messages, _set_error, _set_index = slot_setters(
    Outcome, "status", "reason", "event_id", "messages", "error", "index"
)


class Routed(NamedTuple):
    """An accepted event before it is sealed: its destination partition, key and bytes.

    A named tuple (one per accepted event): built in 0.2 µs, a frozen dataclass in 0.45.
    """

    partition: int
    key: bytes
    raw: bytes


@dataclass(frozen=True, slots=True)
class RoutedRecord:
    """One feed record classified, its accepted events not yet sealed into records.

    ``accepted`` holds the accepted events in input order; ``refused`` the quarantine records.
    """

    outcomes: tuple[Outcome, ...]
    accepted: tuple[Routed, ...]
    refused: tuple[Outbound, ...]

    @property
    def count(self) -> int:
        """How many of the record's events were accepted."""
        return len(self.accepted)


@dataclass(frozen=True, slots=True)
class IngestContext:
    """Everything ingest needs, loaded once at start-up."""

    settings: Settings
    registry: Registry
    areas: AreaLookup
    decoder: SchemaStore
    verifier: SealVerifier
    internal_key: HmacKey
    """The hub's internal MAC key: accepted records are authenticated for correlation."""
    clock: Clock = wall_clock
    """The decision time an accepted record carries (authenticated with it)."""


class Ingest:
    """Decode, validate, check provenance and seal, de-duplicate, route.

    ``seen`` maps an accepted event id to the feed position it was accepted from
    (``topic:partition:offset``, with ``:index`` for an event of a batch record). The same id
    at the same position is a redelivery (at-least-once after a crash) and is accepted again,
    harmlessly: everything downstream is keyed by deterministic ids. The same id at another
    position is an agency sending it twice: ``duplicate_event``.
    """

    def __init__(self, ctx: IngestContext) -> None:
        self._ctx = ctx
        self._agencies = frozenset(a.id for a in ctx.registry.agencies)
        self._covered: dict[str, bool] = {}
        """Whether a partnership covers each LSOA of the area lookup met so far (the
        lookup bounds it; an LSOA not in the lookup is never kept)."""
        self._decode = ctx.decoder.decode
        self._partitions = ctx.settings.partitions

    def process_record(self, message: FeedMessage, seen: SeenEvents) -> RecordOutcome:
        """Classify one feed record, a single event or a batch; never raises.

        The record's accepted events are stored in ``seen`` as one row and sealed into one
        accepted record per destination partition.
        """
        routed = self.route_record(message, seen)
        return RecordOutcome(routed.outcomes, self.seal_group(((message, routed),)))

    def route_record(self, message: FeedMessage, seen: SeenEvents) -> RoutedRecord:
        """Classify one feed record and store its accepted event ids in ``seen`` (one row);
        never raises. Its accepted events are sealed later, with its group's."""
        seen.refresh()
        if is_batch_record(message.value):
            routed = self._batch(message, seen)
        else:
            found = _attempt(self._route_single, message, seen)
            if isinstance(found, HubError):
                refused = self._refused(message, found)
                routed = RoutedRecord((refused,), (), refused.messages)
            else:
                routed = found
        seen.commit()
        return routed

    def seal_group(
        self,
        records: Sequence[tuple[FeedMessage, RoutedRecord]],
        budget: int = ACCEPTED_BUDGET,
    ) -> tuple[Outbound, ...]:
        """The messages a group of routed feed records causes, in this order: the accepted
        events as one record per destination partition (in input order; a partition's events
        over ``budget`` bytes go on in a further record), then every quarantine record.

        Events of one subject go to one partition in the order read, so per-subject order
        holds across the group as within one record.
        """
        chunks: dict[int, list[_Chunk]] = {}
        last: dict[int, _Chunk] = {}  # each partition's chunk being filled
        for message, routed in records:
            for event in routed.accepted:
                chunk = last.get(event.partition)
                if chunk is None or (chunk.size and chunk.size + len(event.raw) > budget):
                    chunk = last[event.partition] = _Chunk(event.key)
                    chunks.setdefault(event.partition, []).append(chunk)
                chunk.add(event.raw, message)
        topic = self._ctx.settings.accepted_topic
        accepted = tuple(
            self._packed(Place(topic, partition), chunk)
            for partition, held in chunks.items()
            for chunk in held
        )
        return accepted + tuple(m for _, routed in records for m in routed.refused)

    def process(self, message: FeedMessage, seen: MutableMapping[str, str]) -> Outcome:
        """Classify one single-event feed message; never raises."""
        found = _attempt(self._accept, message, seen)
        return found if isinstance(found, Outcome) else self._refused(message, found)

    def judge(self, message: FeedMessage, seen: MutableMapping[str, str]) -> Outcome:
        """:meth:`process` without its output records: the outcome of one single-event feed
        message, accepted with no record built (a backtest writes nothing); never raises."""
        found = _attempt(self._single, message, seen)
        if isinstance(found, HubError):
            return self._refused(message, found)
        return accepted_outcome(found[0], None)

    def _refused(
        self,
        message: FeedMessage,
        error: HubError,
        event: tuple[int, bytes, Headers] | None = None,
    ) -> Outcome:
        """The quarantine outcome of a record, or of one ``(index, bytes, headers)`` event."""
        source, raw, headers = message.source, message.value, message.headers
        index = None
        if event is not None:
            index, raw, headers = event
            source = source.model_copy(update={"index": index})
        record = quarantine(raw, source, error, key=message.key, headers=headers)
        out = Outbound(self._ctx.settings.quarantine_topic, None, record.to_bytes())
        return Outcome("quarantined", record.reason, None, (out,), record.detail, index)

    def _accept(self, message: FeedMessage, seen: MutableMapping[str, str]) -> Outcome:
        routed = self._route_single(message, seen)
        (event,) = routed.accepted
        place = Place(self._ctx.settings.accepted_topic, event.partition)
        accepted = self._packed(place, _Chunk(event.key).add(event.raw, message))
        outcome = routed.outcomes[0]
        return Outcome("accepted", "accepted", outcome.event_id, (accepted,))

    def _route_single(self, message: FeedMessage, seen: MutableMapping[str, str]) -> RoutedRecord:
        event_id, key, partition = self._single(message, seen)
        outcome = accepted_outcome(event_id, None)
        return RoutedRecord((outcome,), (Routed(partition, key, message.value),), ())

    def _single(
        self, message: FeedMessage, seen: MutableMapping[str, str]
    ) -> tuple[str, bytes, int]:
        """A single-event record's event checked and noted in ``seen``: its id, key and
        partition (raises what refuses it)."""
        event = validate_event(self._decode(message.value), clock=self._ctx.clock)
        self._check_provenance(event, message)
        position = message.source.position
        key, partition = self._admit(event, message.value, seen, position)
        event_id = event.envelope.event_id
        seen[event_id] = position
        return event_id, key, partition

    def _check_agency(self, event: Event, feed_agency: str) -> None:
        agency_id = event.envelope.agency_id
        if agency_id not in self._agencies:
            raise UnknownAgencyError("event names an agency that is not onboarded")
        if agency_id != feed_agency:
            raise AgencyMismatchError(f"event claims another agency than feed {feed_agency!r}")

    def _check_provenance(self, event: Event, message: FeedMessage) -> None:
        self._check_agency(event, message.feed_agency)
        raw_seal = message.seal
        if raw_seal is None:
            raise BadSignatureError(f"no {SEAL_HEADER} header")
        seal = self._ctx.verifier.verify(message.value, raw_seal, message.received_at)
        if seal.agency_id != event.envelope.agency_id:
            raise AgencyMismatchError("seal is another agency's")
        if seal.key_id != event.envelope.key_id:
            raise BadSignatureError("envelope key id differs from the seal's")

    def _admit(
        self, event: Event, raw: bytes, seen: Mapping[str, str], position: str
    ) -> tuple[bytes, int]:
        """Area and de-duplication checks; the accepted key and partition of an event (the
        caller notes it in ``seen``)."""
        envelope = event.envelope
        lsoa = envelope.lsoa
        covered = self._covered.get(lsoa)
        if covered is None:
            covered = self._in_partnership(lsoa)
        if not covered:
            raise UnknownAreaError("the event's LSOA is in no partnership's area")
        event_id = envelope.event_id
        first = seen.get(event_id)
        if first is not None and first != position:
            raise DuplicateEventError(f"event id already accepted at {first}")
        remember(self._ctx.decoder, raw, event)  # correlation reads these bytes next
        key = (envelope.subject_token or f"area:{lsoa}").encode()
        return key, partition_for(key, self._partitions)

    def _in_partnership(self, lsoa: str) -> bool:
        """Whether the LSOA lies in a partnership's area (remembered when in the lookup)."""
        council = self._ctx.areas.council(lsoa)
        if not council:
            return False
        covered = self._ctx.registry.partnership_for_council(council) is not None
        self._covered[lsoa] = covered
        return covered

    def _batch(self, message: FeedMessage, seen: SeenEvents) -> RoutedRecord:
        """A batch record: its seal checked once, then each event alone."""
        parsed = _attempt(self._open_batch, message)
        if not isinstance(parsed, HubError):
            return self._batch_events(parsed, message, seen)
        whole = self._refused(message, parsed)
        return RoutedRecord((whole,), (), whole.messages)

    def _open_batch(self, message: FeedMessage) -> tuple[BatchRecord, MerkleTree]:
        """Parse a batch record and verify its signature over the root of all its events."""
        record = parse_batch_record(message.value)
        if record.agency_id not in self._agencies:
            raise UnknownAgencyError("batch names an agency that is not onboarded")
        if record.agency_id != message.feed_agency:
            raise AgencyMismatchError(
                f"batch is another agency's than feed {message.feed_agency!r}"
            )
        tree = record.tree()
        self._ctx.verifier.verify_head(record.head(tree), record.signature, message.received_at)
        return record, tree

    def _batch_events(
        self, opened: tuple[BatchRecord, MerkleTree], message: FeedMessage, seen: SeenEvents
    ) -> RoutedRecord:
        record, tree = opened
        accepted: list[Routed] = []
        outcomes: list[Outcome] = []
        seals: list[EventSeal] = []
        refused: list[Outbound] = []  # the refused events' messages, in input order
        base = message.source.position
        for index, raw in enumerate(record.events):
            try:
                event_id, key, partition = self._batch_event(raw, record, (seen, base, index))
            except Exception as exc:  # noqa: BLE001  # _refusal: an input never crashes the hub
                seals = seals or event_seals(record, tree)  # quarantined alone, with its seal
                headers = ((SEAL_HEADER, seals[index].to_bytes()),)
                outcome = self._refused(message, _refusal(exc), (index, raw, headers))
                outcomes.append(outcome)
                refused += outcome.messages
                continue
            accepted.append(Routed(partition, key, raw))
            outcomes.append(accepted_outcome(event_id, index))
        return RoutedRecord(tuple(outcomes), tuple(accepted), tuple(refused))

    def _batch_event(
        self, raw: bytes, record: BatchRecord, at: tuple[SeenEvents, str, int]
    ) -> tuple[str, bytes, int]:
        """Event ``index`` of a batch record: at ``(seen, record's position, index)``, noted
        in ``seen`` without splitting its position again."""
        event = validate_event(self._decode(raw), clock=self._ctx.clock)
        envelope = event.envelope
        if envelope.agency_id != record.agency_id:  # the batch's agency is onboarded
            self._check_agency(event, record.agency_id)  # raises: not onboarded, or another
        if envelope.key_id != record.key_id:
            raise BadSignatureError("envelope key id differs from the batch's")
        seen, base, index = at
        position = f"{base}:{index}"
        key, partition = self._admit(event, raw, seen, position)
        seen.add(envelope.event_id, base, index, position)
        return envelope.event_id, key, partition

    def _packed(self, place: Place, chunk: _Chunk) -> Outbound:
        """An accepted record: events in an internal record MACed for their partition.

        Its time, the decision time correlation uses, is the hub's clock now. The feed
        positions its events came from (and a single event's seal, when the record holds
        exactly that event) travel as headers for people reading the topic; no reader uses
        them.
        """
        value = seal_record(
            Kind.EVENTS, self._ctx.clock(), tuple(chunk.items), place, self._ctx.internal_key
        )
        positions = ",".join(m.source.position for m in chunk.sources)
        headers: Headers = ((SOURCE_HEADER, positions.encode()),)
        raw_seal = chunk.sources[0].seal if len(chunk.sources) == 1 else None
        if raw_seal is not None and len(chunk.items) == 1:
            headers = ((SEAL_HEADER, raw_seal), *headers)
        return Outbound(place.topic, chunk.key, value, headers, place.partition)


class _Chunk:
    """The events of one accepted record being assembled: key (its first event's), bytes,
    and the feed messages they came from (each once, in order)."""

    __slots__ = ("items", "key", "size", "sources")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.items: list[bytes] = []
        self.size = 0
        self.sources: list[FeedMessage] = []

    def add(self, raw: bytes, message: FeedMessage) -> _Chunk:
        self.items.append(raw)
        self.size += len(raw)
        if not self.sources or self.sources[-1] is not message:
            self.sources.append(message)
        return self


def _attempt(step: Callable[..., T], *args: Any) -> T | HubError:
    """``step(*args)``, or the HubError that stopped it (any other exception wrapped)."""
    try:
        return step(*args)
    except Exception as exc:  # noqa: BLE001  # _refusal: an input never crashes the hub
        return _refusal(exc)


def _refusal(exc: Exception) -> HubError:
    """What refuses an input: a HubError as raised, any other exception wrapped (the last
    line of defence: an input never crashes the hub)."""
    return exc if isinstance(exc, HubError) else HubError(f"unexpected {type(exc).__name__}")
