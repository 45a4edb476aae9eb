"""From an agency's own event (identifiers in clear) to a pseudonymised Avro record."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hub.crypto.secret import HmacKey
from hub.feeds.source import SourceEvent
from hub.ids import uuid7
from hub.pseudonym import PersonIdentity, linkage_token

RECORDING_DELAY = timedelta(hours=2)


def to_record(
    event: SourceEvent,
    linkage_key: HmacKey,
    signing_key_id: str,
    recorded_at: datetime | None = None,
) -> dict[str, Any]:
    """The record to encode: the person becomes a linkage token and an age, nothing more."""
    token: str | None = None
    age: int | None = None
    if event.person is not None:
        identity = PersonIdentity(
            given_name=event.person.given_name,
            family_name=event.person.family_name,
            date_of_birth=event.person.date_of_birth,
            postcode=event.person.postcode,
        )
        token = linkage_token(identity, linkage_key).text
        age = event.person.age_on(event.occurred_at.date())
    envelope = {
        "event_id": uuid7(event.occurred_at, seed=f"{event.agency_id}|{event.source_ref}".encode()),
        "agency_id": event.agency_id,
        "occurred_at": event.occurred_at,
        "recorded_at": recorded_at or event.occurred_at + RECORDING_DELAY,
        "subject_token": token,
        "lsoa": event.lsoa,
        "age": age,
        "key_id": signing_key_id,
    }
    return {"envelope": envelope, **event.fields}
