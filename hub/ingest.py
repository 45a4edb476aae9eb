"""The ingest step: one raw feed message in, the messages it causes out.

Pure: no Kafka here. The faust adapter (``agents/``) reads a feed message, calls
:meth:`Ingest.process`, and sends what comes back. Every input ends either accepted (with
its deliveries) or quarantined with a reason: nothing raises out of ``process``.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import HmacKey, SealVerifier
from hub.crypto.record import Kind, Place
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
from hub.models import Clock, Event, remember, validate_event, wall_clock
from hub.quarantine import SourceRef, quarantine
from hub.registry import Registry
from hub.transport.partitioner import partition_for

#: Kafka header carrying the agency's batch seal (``hub.crypto.sealcodec``).
SEAL_HEADER = "vru-seal"
#: Kafka header on accepted events naming their feed position (``topic:partition:offset``).
SOURCE_HEADER = "vru-source"

Headers = tuple[tuple[str, bytes], ...]


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
        """The agency's batch seal, if the message carries one."""
        return next((v for k, v in self.headers if k == SEAL_HEADER), None)


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

    ``seen`` maps an accepted event id to the feed position it was accepted from. The same id
    at the same position is a redelivery (at-least-once after a crash) and is accepted again,
    harmlessly: everything downstream is keyed by deterministic ids. The same id at another
    position is an agency sending it twice: ``duplicate_event``.
    """

    def __init__(self, ctx: IngestContext) -> None:
        self._ctx = ctx
        self._agencies = frozenset(a.id for a in ctx.registry.agencies)

    def process(self, message: FeedMessage, seen: MutableMapping[str, str]) -> Outcome:
        """Classify one feed message; never raises."""
        try:
            return self._accept(message, seen)
        except HubError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001  # last line of defence: an input never crashes the hub
            error = HubError(f"unexpected {type(exc).__name__}")
        record = quarantine(
            message.value, message.source, error, key=message.key, headers=message.headers
        )
        out = Outbound(self._ctx.settings.quarantine_topic, None, record.to_bytes())
        return Outcome("quarantined", record.reason, None, (out,), record.detail)

    def _accept(self, message: FeedMessage, seen: MutableMapping[str, str]) -> Outcome:
        event = validate_event(self._ctx.decoder.decode(message.value))
        self._check_provenance(event, message)
        council = self._ctx.areas.council(event.envelope.lsoa)
        partnership = self._ctx.registry.partnership_for_council(council) if council else None
        if partnership is None:
            raise UnknownAreaError("the event's LSOA is in no partnership's area")
        position = f"{message.source.topic}:{message.source.partition}:{message.source.offset}"
        first = seen.get(event.event_id)
        if first is not None and first != position:
            raise DuplicateEventError(f"event id already accepted at {first}")
        seen[event.event_id] = position
        if event.subject_token is not None:  # correlation reads these bytes next (not area ones)
            remember(self._ctx.decoder, message.value, event)
        accepted = self._accepted(event, message, position)
        return Outcome("accepted", "accepted", event.event_id, (accepted,))

    def _check_provenance(self, event: Event, message: FeedMessage) -> None:
        agency_id = event.envelope.agency_id
        if agency_id not in self._agencies:
            raise UnknownAgencyError("event names an agency that is not onboarded")
        if agency_id != message.feed_agency:
            raise AgencyMismatchError(
                f"event claims another agency than feed {message.feed_agency!r}"
            )
        raw_seal = message.seal
        if raw_seal is None:
            raise BadSignatureError(f"no {SEAL_HEADER} header")
        seal = self._ctx.verifier.verify(message.value, raw_seal, message.received_at)
        if seal.agency_id != agency_id:
            raise AgencyMismatchError("seal is another agency's")
        if seal.key_id != event.envelope.key_id:
            raise BadSignatureError("envelope key id differs from the seal's")

    def _accepted(self, event: Event, message: FeedMessage, position: str) -> Outbound:
        """The accepted record: the event in an internal record MACed for its partition.

        Its time, the decision time correlation uses, is the hub's clock now. The seal and
        feed position travel as headers for people reading the topic; no reader uses them.
        """
        key = (event.subject_token or f"area:{event.envelope.lsoa}").encode()
        topic = self._ctx.settings.accepted_topic
        place = Place(topic, partition_for(key, self._ctx.settings.partitions))
        value = seal_record(
            Kind.EVENTS, self._ctx.clock(), (message.value,), place, self._ctx.internal_key
        )
        headers: Headers = ((SOURCE_HEADER, position.encode()),)
        raw_seal = message.seal
        if raw_seal is not None:
            headers = ((SEAL_HEADER, raw_seal), *headers)
        return Outbound(topic, key, value, headers, place.partition)
