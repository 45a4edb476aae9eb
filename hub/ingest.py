"""The ingest step: one raw feed message in, the messages it causes out.

Pure: no Kafka here. The faust adapter (``agents/``) reads a feed message, calls
:meth:`Ingest.process`, and sends what comes back. Every input ends either accepted (with
its deliveries) or quarantined with a reason: nothing raises out of ``process``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

from hub.allowlist import AllowList
from hub.codec import SchemaStore
from hub.config import Settings
from hub.errors import (
    AgencyMismatchError,
    HubError,
    UnknownAgencyError,
    UnknownAreaError,
)
from hub.geo import AreaLookup
from hub.models import Event, validate_event
from hub.quarantine import SourceRef, quarantine
from hub.registry import Registry


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message to publish."""

    topic: str
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one input message."""

    status: Literal["accepted", "quarantined"]
    reason: str
    event_id: str | None
    messages: tuple[Outbound, ...]


@dataclass(frozen=True, slots=True)
class IngestContext:
    """Everything ingest needs, loaded once at start-up."""

    settings: Settings
    registry: Registry
    areas: AreaLookup
    allowlist: AllowList
    decoder: SchemaStore


class Ingest:
    """Decode, check provenance and area, apply the allow-list, address the alerts."""

    def __init__(self, ctx: IngestContext) -> None:
        self._ctx = ctx

    def process(self, raw: bytes, source: SourceRef, feed_agency: str) -> Outcome:
        """Classify one feed message; never raises."""
        try:
            return self._accept(raw, feed_agency)
        except HubError as exc:
            record = quarantine(raw, source, exc)
        except Exception as exc:  # noqa: BLE001  # last line of defence: an input never crashes the hub
            record = quarantine(raw, source, HubError(f"unexpected {type(exc).__name__}"))
        out = Outbound(self._ctx.settings.quarantine_topic, None, record.to_bytes())
        return Outcome("quarantined", record.reason, None, (out,))

    def _accept(self, raw: bytes, feed_agency: str) -> Outcome:
        event = validate_event(self._ctx.decoder.decode(raw))
        agency_id = event.envelope.agency_id
        if agency_id not in {a.id for a in self._ctx.registry.agencies}:
            raise UnknownAgencyError("event names an agency that is not onboarded")
        if agency_id != feed_agency:
            raise AgencyMismatchError(f"event claims another agency than feed {feed_agency!r}")
        council = self._ctx.areas.council(event.envelope.lsoa)
        partnership = self._ctx.registry.partnership_for_council(council) if council else None
        if partnership is None or council is None:
            raise UnknownAreaError("the event's LSOA is in no partnership's area")
        messages: tuple[Outbound, ...] = ()
        if self._ctx.allowlist.allows(agency_id, event.event_type, partnership.id):
            alert = event_alert(event, council)
            messages = (
                Outbound(
                    self._ctx.settings.alert_topic(partnership.id),
                    alert["alert_id"].encode(),
                    json.dumps(alert, sort_keys=True).encode(),
                ),
            )
        reason = "delivered" if messages else "no_recipient"
        return Outcome("accepted", reason, event.event_id, messages)


def event_alert(event: Event, council: str) -> dict[str, str]:
    """The minimal alert of the first path: metadata only, no subject, no fields."""
    key = f"event-alert|{event.event_id}|{council}"
    return {
        "alert_id": hashlib.sha256(key.encode()).hexdigest()[:32],
        "event_id": event.event_id,
        "event_type": event.event_type,
        "agency_id": event.envelope.agency_id,
        "council": council,
        "occurred_at": event.envelope.occurred_at.isoformat(),
    }
