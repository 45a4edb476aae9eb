"""From an agency's own event (identifiers in clear) to a pseudonymised Avro record."""

from __future__ import annotations

from datetime import date
from typing import Any

from hub.agency.draft import EventDraft, age_at
from hub.crypto.secret import HmacKey
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
