"""Building event facts from decoded records, and the in-memory consent view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.dsa import ConsentBook, ConsentGrant, Purpose, facts_from_record, load_directory
from hub.errors import AgreementError, PolicyError
from tests.overrides import known_only

AT = datetime(2026, 11, 24, 12, tzinfo=UTC)


def record(**envelope: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "event_id": "ev-1",
        "agency_id": "health",
        "event_type": "health.ed_assault",
        "occurred_at": AT,
        "recorded_at": AT,
        "subject_token": None,
        "lsoa": "E01016353",
        "age": None,
        "schema_version": 1,
        "key_id": "health-1",
    }
    known_only(envelope, values, "record")
    values.update(envelope)
    return {"envelope": values, "assault_method": "BLUNT_OBJECT", "ed_site_code": "RHW01"}


def test_facts_carry_envelope_and_type_specific_fields() -> None:
    facts = facts_from_record(record(), "E06000038")
    assert facts.council == "E06000038"
    assert not facts.has_subject
    assert facts.fields == {"assault_method": "BLUNT_OBJECT", "ed_site_code": "RHW01"}
    iso = facts_from_record(record(occurred_at="2026-11-24T12:00:00+00:00"), None)
    assert iso.occurred_at == AT


@pytest.mark.parametrize(
    "bad",
    [
        {"not_envelope": {}},
        {"envelope": {"event_id": "x"}},
        record(occurred_at="2026-11-24T12:00:00"),
        record(occurred_at=12345),
    ],
)
def test_malformed_records_are_policy_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        facts_from_record(bad, None)


def test_consent_book_replaces_a_grant_by_id_and_is_immutable() -> None:
    grant = ConsentGrant(
        consent_id="c-1",
        subject_token="tok",
        purpose=Purpose.EARLY_INTERVENTION,
        provider="voluntary-sector",
        recipients=frozenset({"reading"}),
        given_at=AT - timedelta(days=1),
    )
    book = ConsentBook([grant])
    withdrawn = book.with_grant(grant.model_copy(update={"withdrawn_at": AT}))
    args = ("tok", Purpose.EARLY_INTERVENTION, "voluntary-sector", "reading", AT)
    assert book.consent_for(*args) is not None
    assert withdrawn.consent_for(*args) is None
    ref = withdrawn.consent_for(
        "tok", Purpose.EARLY_INTERVENTION, "voluntary-sector", "reading", AT - timedelta(hours=1)
    )
    assert ref is not None
    assert ref.consent_id == "c-1"


def test_loading_a_missing_directory_is_an_agreement_error(tmp_path: Path) -> None:
    with pytest.raises(AgreementError, match="not a directory"):
        load_directory(tmp_path / "absent")
