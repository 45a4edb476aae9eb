"""From an agency's own event (identifiers in clear) to a pseudonymised Avro record."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hub.agency.draft import EventDraft, age_at, draft_of
from hub.crypto.secret import HmacKey
from hub.feeds.source import SourceEvent
from hub.ids import uuid7
from hub.pseudonym import PersonIdentity, linkage_token, normalise_date_of_birth


def build_record(
    draft: EventDraft, agency_id: str, linkage_key: HmacKey, signing_key_id: str
) -> dict[str, Any]:
    """The record to encode: the identity becomes a linkage token and an age, nothing more.

    Raises IdentifierError (naming the field, never the value) when an identifier cannot be
    normalised. The draft's identity is not copied anywhere.
    """
    token = linkage_token(draft.identity, linkage_key).text if draft.identity else None
    envelope = {
        "event_id": uuid7(draft.occurred_at, seed=f"{agency_id}|{draft.source_ref}".encode()),
        "agency_id": agency_id,
        "occurred_at": draft.occurred_at,
        "recorded_at": draft.recorded_at or draft.occurred_at,
        "subject_token": token,
        "lsoa": draft.lsoa,
        "age": _age(draft),
        "key_id": signing_key_id,
    }
    return {"envelope": envelope, **draft.fields}


def _age(draft: EventDraft) -> int | None:
    if draft.age is not None or not isinstance(draft.identity, PersonIdentity):
        return draft.age
    born = date.fromisoformat(normalise_date_of_birth(draft.identity.date_of_birth))
    return age_at(born, draft.occurred_at.date())


def to_record(
    event: SourceEvent,
    linkage_key: HmacKey,
    signing_key_id: str,
    recorded_at: datetime | None = None,
) -> dict[str, Any]:
    """``build_record`` for a replayed source event (kept for the demo feed builder)."""
    draft = draft_of(event)
    if recorded_at is not None:
        draft = EventDraft(
            draft.event_type,
            draft.occurred_at,
            draft.lsoa,
            draft.source_ref,
            draft.identity,
            draft.fields,
            draft.age,
            recorded_at,
        )
    return build_record(draft, event.agency_id, linkage_key, signing_key_id)
