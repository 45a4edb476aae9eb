"""An event as the agency's own system holds it, before the SDK pseudonymises it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.feeds.people import Person


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """One event as the agency's system knows it: identifiers in clear, not yet pseudonymised."""

    agency_id: str
    event_type: str
    occurred_at: datetime
    lsoa: str
    person: Person | None
    fields: dict[str, Any]
    source_ref: str


@dataclass
class ReplayStats:
    """What a replay kept and skipped, by reason."""

    rows: int = 0
    events: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
