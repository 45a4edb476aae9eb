"""Flags: what a rule raised about one subject, with a stable id and a revision.

``flag_id`` hashes the rule id, the linkage token and the window's anchor (the earliest
contributing event's ``occurred_at``), domain-separated, so re-processing the same events
reproduces the same id. ``revision`` hashes the rule version, the severity and the sorted
contributing event ids: a new contribution to the same window (an escalation) keeps the id
and changes the revision. Neither carries the token in clear.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from pydantic import AwareDatetime, BaseModel, ConfigDict

from hub.flags.contribution import Contribution
from hub.models.built import built
from hub.rules import Severity

_FLAG_DOMAIN = b"vru-hub/flag-id/v1\x00"
_REVISION_DOMAIN = b"vru-hub/flag-revision/v1\x00"


class Status(StrEnum):
    """Whether a flag's window is still open at the evaluation time."""

    ACTIVE = "active"
    EXPIRED = "expired"


class EventRef(BaseModel):
    """A contributing event as a flag names it: no fields, no subject."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    event_type: str
    agency_id: str
    occurred_at: AwareDatetime

    @classmethod
    def of(cls, contribution: Contribution) -> EventRef:
        """The reference to a contribution."""
        return built(
            cls,
            {
                "event_id": contribution.event_id,
                "event_type": contribution.event_type,
                "agency_id": contribution.agency_id,
                "occurred_at": contribution.occurred_at,
            },
        )


class FlagState(BaseModel):
    """One flag at one evaluation: which rule, which events, which window, which status."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    flag_id: str
    revision: str
    rule_id: str
    rule_version: int
    severity: Severity
    base_severity: Severity
    status: Status
    window_start: AwareDatetime
    window_end: AwareDatetime
    events: tuple[EventRef, ...]

    @property
    def event_ids(self) -> frozenset[str]:
        """The ids of the contributing events."""
        return frozenset(e.event_id for e in self.events)

    @property
    def agencies(self) -> tuple[str, ...]:
        """The agencies whose events contributed, sorted: the ones to ask."""
        return tuple(sorted({e.agency_id for e in self.events}))


@lru_cache(maxsize=16384)  # a flag's id is asked at every evaluation of its window
def flag_id(rule_id: str, token: str, anchor: datetime) -> str:
    """The stable id of a rule's flag about a subject, for the window anchored at ``anchor``."""
    millis = round(anchor.timestamp() * 1000)
    digest = hashlib.sha256(
        _FLAG_DOMAIN + b"\x00".join([rule_id.encode(), token.encode(), str(millis).encode()])
    )
    return digest.hexdigest()[:32]


def revision(rule_version: int, severity: Severity, event_ids: frozenset[str]) -> str:
    """A digest of what the flag says: it changes when an event joins or severity changes."""
    parts = [str(rule_version), severity, *sorted(event_ids)]
    return hashlib.sha256(_REVISION_DOMAIN + "\x00".join(parts).encode()).hexdigest()[:16]
