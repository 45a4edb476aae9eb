"""Consent events through the real codec: encoded, decoded and validated like ingest does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.codec import SchemaStore
from hub.crypto import HmacKey
from hub.ids import uuid7
from hub.models import Event, validate_event
from hub.pseudonym import NationalIdentity, linkage_token

STORE = SchemaStore.load(Path("schemas"))
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
KEY = HmacKey(b"\x07" * 32)


def token(n: int) -> str:
    """A well-formed linkage token for subject ``n``."""
    return linkage_token(NationalIdentity("test", str(n)), KEY).text


def consent_body(event_type: str, consent_id: str) -> dict[str, Any]:
    """The fields of a consent event after its envelope: given, withdrawn or expired."""
    body: dict[str, Any] = {"consent_id": consent_id, "recorded_by": "keyworker-17"}
    if event_type == "consent.given":
        body |= {
            "purpose": "EARLY_INTERVENTION",
            "provider": "voluntary-sector",
            "recipients": [],
            "given_by": "YOUNG_PERSON",
            "method": "WRITTEN",
            "notice": "vcs-notice-2026-03",
            "expires_at": None,
        }
    elif event_type == "consent.withdrawn":
        body["withdrawn_by"] = "YOUNG_PERSON"
    else:
        body["reason"] = "TERM_ENDED"
    return body


def consent_event(
    event_type: str, consent_id: str, subject: int = 1, *, minute: int = 0, **fields: Any
) -> Event:
    """A validated consent event from the voluntary sector."""
    occurred = T0 + timedelta(minutes=minute)
    envelope = {
        "event_id": uuid7(occurred, seed=f"{event_type}|{consent_id}|{minute}".encode()),
        "agency_id": fields.pop("agency_id", "voluntary-sector"),
        "occurred_at": occurred,
        "recorded_at": occurred,
        "subject_token": token(subject),
        "lsoa": "E01016353",
        "age": 15,
        "key_id": "k1",
    }
    body = consent_body(event_type, consent_id) | fields
    encoded = STORE.encode(event_type, {"envelope": envelope, **body})
    return validate_event(STORE.decode(encoded))
