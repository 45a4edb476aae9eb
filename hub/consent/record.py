"""One consent record and its lifecycle, as the hub holds it.

Times come in two kinds. ``given_at``/``ended_on`` are when the change happened in the world
(the event's ``occurred_at``), for receipts. ``effective_from``/``ended_at`` are the stream
times (the accepted record's timestamp, the clock decisions are taken on) at which the hub
learnt of the change: consent counts for a decision only from the point in the stream where
it was recorded, and a withdrawal stops every decision after it in the stream.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from hub.dsa import Purpose


class ConsentStatus(StrEnum):
    """Where a consent record is in its lifecycle (ISO/IEC TS 27560 ``state``)."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class ConsentRecord(BaseModel):
    """A consent given by (or for) one subject, for one purpose, from one provider."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_id: str
    subject_token: str = Field(repr=False)
    purpose: Purpose
    provider: str
    recipients: frozenset[str] = frozenset()
    given_by: str
    method: str
    notice: str
    recorded_by: str
    event_id: str
    given_at: datetime
    effective_from: datetime
    expires_at: datetime | None = None
    status: ConsentStatus = ConsentStatus.ACTIVE
    ended_at: datetime | None = None
    ended_on: datetime | None = None
    ended_by: str | None = None
    end_event_id: str | None = None

    def live(self, at: datetime) -> bool:
        """Whether the consent counts for a decision at stream time ``at``."""
        if at < self.effective_from:
            return False
        if self.ended_at is not None and at >= self.ended_at:
            return False
        return self.expires_at is None or at < self.expires_at

    def covers(self, purpose: Purpose, provider: str, recipient: str) -> bool:
        """Whether the consent is for this flow (no named recipients: any recipient)."""
        named = not self.recipients or recipient in self.recipients
        return purpose == self.purpose and provider == self.provider and named

    def status_at(self, at: datetime) -> ConsentStatus | None:
        """The status at stream time ``at``; None before the hub learnt of the consent."""
        if at < self.effective_from:
            return None
        if self.ended_at is not None and at >= self.ended_at:
            return self.status
        if self.expires_at is not None and at >= self.expires_at:
            return ConsentStatus.EXPIRED
        return ConsentStatus.ACTIVE
