"""Fixtures for the model tests: the shipped store and a builder of valid records per type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.codec import DecodedEvent, SchemaStore
from tests.overrides import known_only

TOKEN = "lt1:0123456789abcdef:" + "a" * 52  # a well-formed linkage token

OCCURRED = datetime(2024, 5, 1, 21, 30, tzinfo=UTC)

#: One realistic record body per event type (the envelope is added by ``decoded``).
BODIES: dict[str, dict[str, Any]] = {
    "police.violent_incident": {
        "offence": "VIOLENCE_WITH_INJURY",
        "subject_role": "VICTIM",
        "weapon": "KNIFE_OR_SHARP_INSTRUMENT",
        "location_type": "STREET",
        "domestic": False,
        "exploitation_concern": False,
        "outcome": "UNDER_INVESTIGATION",
        "injury_severity": "SERIOUS",
    },
    "health.ed_assault": {
        "arrival_at": OCCURRED + timedelta(hours=1),
        "assault_at": OCCURRED,
        "assault_method": "KNIFE_OR_SHARP_OBJECT",
        "location_type": "STREET",
        "location_description": "outside the bus station",
        "ed_site_code": "RHW01",
    },
    "education.persistent_absence": {
        "academic_year": "2024/25",
        "term": "AUTUMN",
        "sessions_possible": 140,
        "sessions_absent": 30,
        "sessions_unauthorised": 12,
        "phase": "SECONDARY",
    },
    "education.suspension": {
        "kind": "SUSPENSION",
        "reason": "USE_OR_THREAT_OF_USE_OF_AN_OFFENSIVE_WEAPON",
        "sessions": 6,
        "phase": "SECONDARY",
        "sen_provision": "SEN_SUPPORT",
        "free_school_meals": True,
    },
    "csc.missing_episode": {
        "looked_after": True,
        "returned_at": OCCURRED + timedelta(hours=20),
        "found_location_type": "PUBLIC_TRANSPORT",
        "return_interview_offered": True,
        "return_interview_accepted": None,
        "exploitation_concern": True,
    },
    "youth_justice.out_of_court_disposal": {
        "disposal": "YOUTH_CAUTION",
        "offence_group": "POSSESSION_OF_WEAPONS",
        "gravity_score": 3,
        "intervention_offered": True,
    },
    "voluntary.engagement": {
        "programme": "ED_NAVIGATOR",
        "stage": "ENGAGED",
        "consent_basis": "YOUNG_PERSON",
        "consent_given_at": OCCURRED,
        "consent_reference": "consent-2024-000117",
        "needs": ["MENTAL_HEALTH", "PEER_INFLUENCE"],
    },
}

Decoder = Callable[..., DecodedEvent]


@pytest.fixture(scope="session")
def store() -> SchemaStore:
    return SchemaStore.load(Path("schemas"))


def envelope_for(event_type: str, **overrides: Any) -> dict[str, Any]:
    agency = {"health": "health", "education": "education", "csc": "childrens-social-care"}
    family = event_type.split(".", maxsplit=1)[0]
    base = {
        "event_id": "01890a5d-ac96-774b-bcce-b302099a8057",
        "agency_id": agency.get(family, family.replace("_", "-")),
        "occurred_at": OCCURRED,
        "recorded_at": OCCURRED + timedelta(days=1),
        "subject_token": None if event_type == "health.ed_assault" else TOKEN,
        "lsoa": "E01016000",
        "age": None if event_type == "health.ed_assault" else 15,
        "key_id": "agency-2024-01",
    }
    known_only(overrides, [*base, "event_type", "schema_version"], "envelope_for")
    return {**base, **overrides}


@pytest.fixture(scope="session")
def decoded(store: SchemaStore) -> Decoder:
    """``decoded(event_type, envelope={...}, **fields)``: a valid record, through the real codec."""

    def build(
        event_type: str, envelope: dict[str, Any] | None = None, **fields: Any
    ) -> DecodedEvent:
        known_only(fields, [f["name"] for f in store.schema(event_type)["fields"]], "decoded")
        record = {
            "envelope": envelope_for(event_type, **(envelope or {})),
            **BODIES[event_type],
            **fields,
        }
        return store.decode(store.encode(event_type, record))

    return build
