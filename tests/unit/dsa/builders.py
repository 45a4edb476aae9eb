"""Small builders for agreements and events in the dsa tests (no mocks: real models)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hub.dsa import Agreement, EventFacts, catalog_of
from hub.registry import Registry
from tests import shipped
from tests.overrides import known_only

REGISTRY_PATH = Path("deploy/registry.yaml")
SHIPPED = Path("deploy/agreements")
BROKEN = Path("tests/data/agreements_broken")
TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

READING, WOKINGHAM, SLOUGH, OXFORDSHIRE = "E06000038", "E06000041", "E06000039", "E10000025"

# A small catalog, so these tests do not depend on the codec's schemas.
CATALOG = catalog_of(
    {
        "police.arrest": {
            "offence_group": "criminal_offence",
            "intent_to_supply": "criminal_offence",
            "drug_class": "criminal_offence",
            "outcome": "criminal_offence",
        },
        "police.violent_incident": {
            "offence": "criminal_offence",
            "weapon": "criminal_offence",
            "location_type": "normal",
            "domestic": "normal",
            "exploitation_concern": "special_category",
        },
        "voluntary.engagement": {
            "programme": "normal",
            "stage": "normal",
            "needs": "special_category",
        },
    }
)


def registry() -> Registry:
    """The real registry shipped in deploy/ (read once: ``tests/shipped.py``)."""
    return shipped.registry()


def agreement_dict(**overrides: Any) -> dict[str, Any]:
    """A coherent police -> reading, wokingham agreement as a document, with overrides."""
    contact = {"name": "DPO", "role": "Data Protection Officer", "email": "dpo@x.example"}
    doc: dict[str, Any] = {
        "id": "test-police",
        "version": 1,
        "title": "Test agreement",
        "providers": [
            {
                "party": "police",
                "role": "controller",
                "contact": contact,
                "lawful_basis": {
                    "article_6": "public_task",
                    "article_9": "substantial_public_interest",
                    "schedule_1": ["safeguarding_children_and_individuals_at_risk"],
                    "dpa_2018_part_3": True,
                },
            }
        ],
        "recipients": [
            {"party": "reading", "role": "controller", "contact": contact},
            {"party": "wokingham", "role": "controller", "contact": contact},
        ],
        "purposes": ["serious_violence_prevention"],
        "legal_gateways": ["crime_and_disorder_act_1998_s115"],
        "data_items": [
            {
                "event_type": "police.violent_incident",
                "fields": [
                    {"name": "offence", "sensitivity": "criminal_offence"},
                    {"name": "location_type"},
                ],
            }
        ],
        "effective_from": "2026-01-01",
        "review_date": "2027-12-31",
        "retention": {"alerts_days": 365, "deletion": "deleted"},
        "security_classification": "official_sensitive",
        "signatories": [
            {"name": "A", "role": "SIRO", "party": "police", "signed_on": "2025-12-01"},
            {"name": "B", "role": "Chair", "party": "reading", "signed_on": "2025-12-01"},
            {"name": "C", "role": "Chair", "party": "wokingham", "signed_on": "2025-12-01"},
        ],
        "dpia_reference": "DPIA-1",
        "change_history": [{"version": 1, "changed_on": "2025-11-01", "summary": "first"}],
    }
    known_only(overrides, Agreement.model_fields, "agreement_dict")
    doc.update(copy.deepcopy(overrides))
    return doc


def agreement(**overrides: Any) -> Agreement:
    """:func:`agreement_dict` parsed."""
    return Agreement.model_validate(agreement_dict(**overrides))


def event(**overrides: Any) -> EventFacts:
    """A police violent incident in Reading about a 15-year-old."""
    values: dict[str, Any] = {
        "event_id": "ev-1",
        "agency_id": "police",
        "event_type": "police.violent_incident",
        "occurred_at": datetime(2026, 11, 20, 21, 30, tzinfo=UTC),
        "council": READING,
        "age": 15,
        "subject_token": "tok-1",
        "lsoa": "E01016353",
        "fields": {"offence": "WOUNDING", "location_type": "STREET", "domestic": False},
    }
    values.update(overrides)
    return EventFacts(**values)
