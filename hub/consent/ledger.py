"""The consent ledger: consent events folded in stream order into a :class:`ConsentView`.

``ConsentLedger.apply(event, at)`` takes a validated ``consent.*`` event and the stream time
of its accepted record, and returns the new ledger. It is a pydantic model so that it can be
stored inside a subject's state and rebuilt from JSON. Redeliveries are no-ops. Rules:

- ``consent.given`` opens a record; its provider must be the publishing agency (an agency can
  record consent only for its own data). The same event again is a redelivery (a no-op); the
  same consent id given by another event is a :class:`~hub.errors.ConsentError`: an id names
  one grant.
- ``consent.withdrawn`` and ``consent.expired`` end the record with that id at ``at``: every
  decision at or after that stream time is taken without it. Ending an id the ledger has not
  seen is kept as an end, so a late ``given`` with that id is born ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from hub.consent.record import ConsentRecord, ConsentStatus
from hub.dsa import ConsentRef, Purpose
from hub.errors import ConsentError
from hub.models import Event

GIVEN = "consent.given"
WITHDRAWN = "consent.withdrawn"
EXPIRED = "consent.expired"
CONSENT_TYPES = frozenset({GIVEN, WITHDRAWN, EXPIRED})
CONSENT_ENDS = frozenset({WITHDRAWN, EXPIRED})


def is_consent_event(event_type: str) -> bool:
    """Whether an event type changes consent state (and contributes to no flag)."""
    return event_type in CONSENT_TYPES


class ConsentEnd(BaseModel):
    """A withdrawal or expiry, kept by consent id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: ConsentStatus
    at: datetime
    on: datetime
    by: str
    event_id: str


class ConsentLedger(BaseModel):
    """Every consent record folded so far (any number of subjects) and ends by consent id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    records: tuple[ConsentRecord, ...] = ()
    ends: Mapping[str, ConsentEnd] = {}
    _by_subject: dict[str, list[ConsentRecord]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        """Index the records by subject token for lookups."""
        for record in sorted(self.records, key=lambda r: (r.given_at, r.consent_id)):
            self._by_subject.setdefault(record.subject_token, []).append(record)

    def apply(self, event: Event, at: datetime) -> ConsentLedger:
        """The ledger after one consent event read at stream time ``at``."""
        if event.event_type == GIVEN:
            return self._given(event, at)
        if event.event_type in (WITHDRAWN, EXPIRED):
            return self._ended(event, at)
        raise ConsentError(f"{event.event_type} is not a consent event")

    def _given(self, event: Event, at: datetime) -> ConsentLedger:
        record = _record_of(event, at)
        known = self.record(record.consent_id)
        if known is not None:
            if known.event_id != record.event_id:
                raise ConsentError(f"consent {record.consent_id} given again by another event")
            return self
        end = self.ends.get(record.consent_id)
        if end is not None:
            record = _ended(record, end)
        return ConsentLedger(records=(*self.records, record), ends=self.ends)

    def _ended(self, event: Event, at: datetime) -> ConsentLedger:
        consent_id = str(event.fields["consent_id"])
        if consent_id in self.ends:
            return self
        status = ConsentStatus.WITHDRAWN if event.event_type == WITHDRAWN else ConsentStatus.EXPIRED
        by = str(event.fields.get("withdrawn_by") or event.fields.get("reason") or "")
        end = ConsentEnd(
            status=status, at=at, on=event.envelope.occurred_at, by=by, event_id=event.event_id
        )
        records = tuple(_ended(r, end) if r.consent_id == consent_id else r for r in self.records)
        return ConsentLedger(records=records, ends={**self.ends, consent_id: end})

    def record(self, consent_id: str) -> ConsentRecord | None:
        """The record with this id, or None."""
        return next((r for r in self.records if r.consent_id == consent_id), None)

    def for_subject(self, subject_token: str) -> tuple[ConsentRecord, ...]:
        """Every record of one subject, oldest first."""
        return tuple(self._by_subject.get(subject_token, ()))

    def live_for(self, subject_token: str, at: datetime) -> bool:
        """Whether any of the subject's records counts at ``at`` (could permit a flow)."""
        return any(record.live(at) for record in self._by_subject.get(subject_token, ()))

    def consent_for(
        self, subject_token: str, purpose: Purpose, provider: str, recipient: str, at: datetime
    ) -> ConsentRef | None:
        """The earliest live consent covering the flow at ``at``, or None (ConsentView)."""
        for record in self._by_subject.get(subject_token, ()):
            if record.live(at) and record.covers(purpose, provider, recipient):
                return ConsentRef(consent_id=record.consent_id, given_at=record.given_at)
        return None

    def to_bytes(self) -> bytes:
        """Compact JSON, e.g. for a subject's stored state."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes | None) -> ConsentLedger:
        """The ledger stored as :meth:`to_bytes` (an empty one for None)."""
        return cls() if not data else cls.model_validate_json(data)


def _ended(record: ConsentRecord, end: ConsentEnd) -> ConsentRecord:
    return record.model_copy(
        update={
            "status": end.status,
            "ended_at": end.at,
            "ended_on": end.on,
            "ended_by": end.by,
            "end_event_id": end.event_id,
        }
    )


def _record_of(event: Event, at: datetime) -> ConsentRecord:
    fields, envelope = event.fields, event.envelope
    if envelope.subject_token is None:
        raise ConsentError(f"consent event {event.event_id} has no subject")
    if fields["provider"] != envelope.agency_id:
        raise ConsentError(f"consent {fields['consent_id']}: provider is not the publishing agency")
    return ConsentRecord(
        consent_id=str(fields["consent_id"]),
        subject_token=envelope.subject_token,
        purpose=Purpose(str(fields["purpose"]).lower()),
        provider=str(fields["provider"]),
        recipients=frozenset(fields.get("recipients") or ()),
        given_by=str(fields["given_by"]),
        method=str(fields["method"]),
        notice=str(fields["notice"]),
        recorded_by=str(fields["recorded_by"]),
        event_id=event.event_id,
        given_at=envelope.occurred_at,
        effective_from=at,
        expires_at=fields.get("expires_at"),
    )
