"""Decisions under the shipped Thames Valley set, and the explain and export commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from hub.cli.dsa import app
from hub.dsa import (
    AgreementBook,
    ConsentBook,
    ConsentGrant,
    DenialReason,
    Evaluator,
    Purpose,
    load_directory,
    project,
    to_odrl,
)
from tests.shipped import agreements as shipped_agreements
from tests.unit.dsa.builders import NOW, READING, SHIPPED, SLOUGH, event, registry

runner = CliRunner()


def shipped() -> Evaluator:
    return Evaluator(AgreementBook.from_agreements(shipped_agreements()), registry())


def test_police_incident_reaches_own_area_and_named_neighbour_only() -> None:
    judge = shipped()
    facts = event(council="E06000041")  # Wokingham, Reading's named neighbour
    permitted = {p.id for p in registry().partnerships if judge.decide(facts, p.id, NOW).permitted}
    assert permitted == {"wokingham", "reading"}


def test_police_domestic_flag_is_never_disclosed() -> None:
    facts = event(fields={"offence": "WOUNDING", "domestic": True})
    decision = shipped().decide(facts, "reading", NOW)
    assert decision.permitted
    assert "domestic" not in project(facts, decision)


def test_education_flow_is_limited_to_under_18s() -> None:
    judge = shipped()
    pupil = event(agency_id="education", event_type="education.suspension", age=17, fields={})
    assert judge.decide(pupil, "reading", NOW).permitted
    adult = pupil.model_copy(update={"age": 18})
    assert judge.decide(adult, "reading", NOW).reasons == (DenialReason.OUTSIDE_AGE_SCOPE,)


def test_health_assault_data_is_area_level_without_subject() -> None:
    facts = event(
        agency_id="health",
        event_type="health.ed_assault",
        subject_token=None,
        age=None,
        council=SLOUGH,
        fields={"assault_method": "SHARP_OBJECT", "location_description": "free text"},
    )
    decision = shipped().decide(facts, "slough", NOW)
    assert decision.permitted
    out = project(facts, decision)
    assert "subject_token" not in decision.fields
    assert "location_description" not in out
    assert out["assault_method"] == "SHARP_OBJECT"


def test_voluntary_sector_flow_needs_live_consent() -> None:
    facts = event(agency_id="voluntary-sector", event_type="voluntary.engagement", fields={})
    judge = shipped()
    assert judge.decide(facts, "reading", NOW).reasons == (DenialReason.CONSENT_MISSING,)
    grant = ConsentGrant(
        consent_id="vcs-42",
        subject_token="tok-1",
        purpose=Purpose.EARLY_INTERVENTION,
        provider="voluntary-sector",
        recipients=frozenset({"reading"}),
        given_at=NOW - timedelta(days=1),
    )
    decision = judge.decide(facts, "reading", NOW, ConsentBook([grant]))
    assert decision.permitted
    assert decision.consent_id == "vcs-42"


def test_expired_pilot_decided_as_then_and_not_now() -> None:
    judge = shipped()
    facts = event(event_type="police.weapon_possession", age=16, fields={})
    during = datetime(2024, 6, 1, tzinfo=UTC)
    decision = judge.decide(facts, "reading", during)
    assert decision.permitted
    assert decision.agreement_id == "tv-police-knife-pilot"
    assert judge.decide(facts, "reading", NOW).agreement_id == "tv-police-svd"


def test_plans_awaiting_sign_off_never_flow() -> None:
    facts = event(agency_id="childrens-social-care", event_type="csc.child_protection_plan_start")
    for moment in (NOW, datetime(2028, 1, 1, tzinfo=UTC)):
        decision = shipped().decide(facts, "reading", moment)
        assert decision.reasons == (DenialReason.EVENT_TYPE_NOT_COVERED,)


def test_explain_prints_clauses_and_decision(tmp_path: Path) -> None:
    record = {
        "envelope": {
            "event_id": "ev-9",
            "agency_id": "police",
            "event_type": "police.violent_incident",
            "occurred_at": "2026-11-20T21:30:00+00:00",
            "recorded_at": "2026-11-20T22:00:00+00:00",
            "subject_token": "tok-9",
            "lsoa": "E01016353",
            "age": 16,
            "schema_version": 1,
            "key_id": "police-1",
        },
        "offence": "WOUNDING",
        "domestic": True,
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(record))
    args = ["explain", "--event", str(path), "--recipient", "reading", "--at", NOW.isoformat()]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"area {READING}" in result.output
    assert "[ok  ] tv-police-svd@2" in result.output
    assert "[drop] tv-police-svd@2" in result.output
    assert "PERMIT under tv-police-svd v2" in result.output
    assert "tok-9" not in result.output
    denied = runner.invoke(app, [*args[:4], "oxfordshire", *args[5:], "--json"])
    assert json.loads(denied.output)["reasons"] == ["outside_geography"]


def test_export_writes_odrl_policies(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "--format", "odrl", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "tv-police-svd.v2.odrl.jsonld" in files
    assert len(files) == len(load_directory(SHIPPED).agreements)
    policy = json.loads((tmp_path / "tv-health-ed-assault.v1.odrl.jsonld").read_text())
    assert policy["@context"][0] == "http://www.w3.org/ns/odrl.jsonld"
    assert policy["@type"] == "Agreement"
    assert len(policy["permission"]) == 9
    operands = {c["leftOperand"] for c in policy["permission"][0]["constraint"]}
    assert operands == {"purpose", "recipient", "spatial", "dateTime"}
    assert policy["prohibition"][0]["target"] == [
        "urn:vru-hub:field:health.ed_assault/location_description"
    ]
    assert runner.invoke(app, ["export", "--format", "xacml"]).exit_code == 2


def test_odrl_carries_consent_duty_age_and_unsigned_status() -> None:
    agreements = {a.id: a for a in shipped_agreements()}
    voluntary = to_odrl(agreements["tv-voluntary-consent"], registry())
    rule = voluntary["permission"][0]
    assert rule["duty"][0]["action"] == "obtainConsent"
    ages = {
        (c["operator"], c["rightOperand"])
        for c in rule["constraint"]
        if c["leftOperand"] == "vru:subjectAge"
    }
    assert ages == {("gteq", 10), ("lteq", 24)}
    reading = next(p for p in voluntary["permission"] if p["assignee"].endswith(":reading"))
    spatial = next(c for c in reading["constraint"] if c["leftOperand"] == "spatial")
    assert len(spatial["rightOperand"]) == 3  # Reading and its two named neighbours
    draft = to_odrl(agreements["tv-csc-cp-plans"], registry())
    assert draft["vru:signedOff"] is False
    assert any(
        c["leftOperand"] == "vru:allSignatoriesSigned" for c in draft["permission"][0]["constraint"]
    )
