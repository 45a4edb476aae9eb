"""What the evaluator needs to know about an event, and about consent.

``EventFacts`` is built from a decoded record plus the council its LSOA lies in (the
caller resolves the area; evaluation does no I/O). ``ConsentView`` is the seam to the
consent ledger; :class:`ConsentBook` is an immutable in-memory implementation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from hub.dsa.vocabulary import Purpose
from hub.errors import PolicyError

ENVELOPE_FIELDS = frozenset(
    {
        "event_id",
        "agency_id",
        "event_type",
        "occurred_at",
        "recorded_at",
        "subject_token",
        "lsoa",
        "age",
        "schema_version",
        "key_id",
    }
)


class EventFacts(BaseModel):
    """The facts about one event that a disclosure decision depends on."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    event_id: str
    agency_id: str
    event_type: str
    occurred_at: datetime
    council: str | None
    age: int | None = None
    subject_token: str | None = None
    lsoa: str | None = None
    fields: Mapping[str, Any] = Field(default_factory=dict)

    @property
    def has_subject(self) -> bool:
        """Whether the event is about a (pseudonymised) person."""
        return self.subject_token is not None


def facts_from_record(record: Mapping[str, Any], council: str | None) -> EventFacts:
    """Facts from a decoded record (``envelope`` plus type-specific fields)."""
    envelope = record.get("envelope")
    if not isinstance(envelope, Mapping):
        raise PolicyError("record has no envelope")
    try:
        return EventFacts(
            event_id=str(envelope["event_id"]),
            agency_id=str(envelope["agency_id"]),
            event_type=str(envelope["event_type"]),
            occurred_at=_instant(envelope["occurred_at"]),
            council=council,
            age=envelope.get("age"),
            subject_token=envelope.get("subject_token"),
            lsoa=envelope.get("lsoa"),
            fields={k: v for k, v in record.items() if k != "envelope"},
        )
    except KeyError as exc:
        raise PolicyError(f"envelope lacks {exc.args[0]!r}") from exc


def _instant(value: object) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value)
    else:
        raise PolicyError("occurred_at is neither a datetime nor an ISO 8601 string")
    if moment.tzinfo is None:
        raise PolicyError("occurred_at has no time zone")
    return moment


class ConsentRef(BaseModel):
    """A pointer to the consent record that allowed a flow (never its content)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_id: str
    given_at: datetime


class ConsentView(Protocol):
    """The consent state: which consent, if any, covers a flow at a moment."""

    def consent_for(
        self, subject_token: str, purpose: Purpose, provider: str, recipient: str, at: datetime
    ) -> ConsentRef | None: ...


class ConsentGrant(BaseModel):
    """One consent given by a subject, optionally withdrawn later."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_id: str
    subject_token: str
    purpose: Purpose
    provider: str
    recipients: frozenset[str]
    given_at: datetime
    withdrawn_at: datetime | None = None

    def covers(self, purpose: Purpose, provider: str, recipient: str, at: datetime) -> bool:
        """Whether the grant is live for this flow at ``at``; withdrawal stops it at once."""
        live = self.given_at <= at and (self.withdrawn_at is None or at < self.withdrawn_at)
        return (
            live
            and purpose == self.purpose
            and provider == self.provider
            and (recipient in self.recipients)
        )


class ConsentBook:
    """An immutable in-memory :class:`ConsentView`, indexed by subject token.

    A grant with the id of an earlier one replaces it, which is how a withdrawal is recorded.
    """

    __slots__ = ("_by_id", "_by_subject")

    def __init__(self, grants: Iterable[ConsentGrant] = ()) -> None:
        self._by_id = {g.consent_id: g for g in grants}
        index: dict[str, list[ConsentGrant]] = {}
        for grant in self._by_id.values():
            index.setdefault(grant.subject_token, []).append(grant)
        self._by_subject = {
            k: tuple(sorted(v, key=lambda g: (g.given_at, g.consent_id))) for k, v in index.items()
        }

    def with_grant(self, grant: ConsentGrant) -> ConsentBook:
        """A new book with this grant added, or replacing the grant with the same id."""
        return ConsentBook([*self._by_id.values(), grant])

    def consent_for(
        self, subject_token: str, purpose: Purpose, provider: str, recipient: str, at: datetime
    ) -> ConsentRef | None:
        """The earliest live grant covering the flow, or None."""
        for grant in self._by_subject.get(subject_token, ()):
            if grant.covers(purpose, provider, recipient, at):
                return ConsentRef(consent_id=grant.consent_id, given_at=grant.given_at)
        return None


NO_CONSENT = ConsentBook()
