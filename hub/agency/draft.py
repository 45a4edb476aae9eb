"""What an agency integration hands the SDK: one event with its identifiers still in clear."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hub.feeds.source import SourceEvent
from hub.pseudonym import NationalIdentity, PersonIdentity

Identity = PersonIdentity | NationalIdentity

#: recorded_at of a replayed source event when its system gives none (see docs/feeds.md).
RECORDING_DELAY = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event before pseudonymisation: identity in clear, everything else as the schema wants.

    ``identity`` is None for area-only events (e.g. ``health.ed_assault``). ``age`` is the age
    in whole years at the event; when None and the identity has a date of birth it is computed
    from it. ``source_ref`` is the agency's own stable reference of the row: the event id is
    derived from it, so sending the same row twice gives the same event id (the hub rejects
    the second as ``duplicate_event``). Its repr never shows the identity.
    """

    event_type: str
    occurred_at: datetime
    lsoa: str
    source_ref: str
    identity: Identity | None = field(default=None, repr=False)
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)
    age: int | None = None
    recorded_at: datetime | None = None


def draft_of(event: SourceEvent) -> EventDraft:
    """The draft of a replayed source event (police replay, synthetic partner events)."""
    identity: Identity | None = None
    age: int | None = None
    if event.person is not None:
        identity = PersonIdentity(
            given_name=event.person.given_name,
            family_name=event.person.family_name,
            date_of_birth=event.person.date_of_birth,
            postcode=event.person.postcode,
        )
        age = event.person.age_on(event.occurred_at.date())
    return EventDraft(
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        lsoa=event.lsoa,
        source_ref=event.source_ref,
        identity=identity,
        fields=event.fields,
        age=age,
        recorded_at=event.occurred_at + RECORDING_DELAY,
    )


def age_at(date_of_birth: date, day: date) -> int:
    """Age in whole years on ``day``."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - int(before_birthday)
