"""The schema store: encode, decode, resolution to the current version, field descriptions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.codec import SchemaStore, encode_with
from hub.errors import DecodeError, SchemaError, UnknownSchemaError, ValidationError
from tests.overrides import known_only

REGISTRY_TYPES = {
    "consent.given",
    "consent.withdrawn",
    "consent.expired",
    "police.violent_incident",
    "police.weapon_possession",
    "police.stop_search",
    "police.arrest",
    "community_safety.asb_case",
    "csc.referral",
    "csc.child_protection_plan_start",
    "csc.child_protection_plan_end",
    "csc.missing_episode",
    "csc.exploitation_screening",
    "education.suspension",
    "education.persistent_absence",
    "youth_justice.out_of_court_disposal",
    "youth_justice.court_outcome",
    "probation.licence_release",
    "probation.licence_breach",
    "voluntary.engagement",
    "health.ed_assault",
}
ALL_TYPES = sorted(REGISTRY_TYPES)
FIXTURE_SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def incident(**envelope: Any) -> dict[str, Any]:
    base = {
        "event_id": "01890a5d-ac96-774b-bcce-b302099a8057",
        "agency_id": "police",
        "occurred_at": datetime(2024, 5, 1, 21, 30, tzinfo=UTC),
        "recorded_at": datetime(2024, 5, 2, 8, 0, tzinfo=UTC),
        "subject_token": "lt1.c2VjcmV0LXRva2VuLXZhbHVl",
        "lsoa": "E01016000",
        "age": 16,
        "key_id": "police-2024-01",
    }
    known_only(envelope, [*base, "event_type", "schema_version"], "incident")
    return {
        "envelope": {**base, **envelope},
        "offence": "VIOLENCE_WITH_INJURY",
        "subject_role": "SUSPECT",
        "weapon": "KNIFE_OR_SHARP_INSTRUMENT",
        "location_type": "STREET",
        "domestic": False,
        "exploitation_concern": True,
        "outcome": "UNDER_INVESTIGATION",
    }


def test_event_types_are_exactly_the_registry_types(store: SchemaStore) -> None:
    assert store.event_types == REGISTRY_TYPES


def test_violent_incident_has_two_versions(store: SchemaStore) -> None:
    assert store.versions("police.violent_incident") == (1, 2)
    assert store.current_version("police.violent_incident") == 2


def test_encoded_message_is_framed_with_marker_and_fingerprint(store: SchemaStore) -> None:
    data = store.encode("police.violent_incident", incident(), version=1)
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == store.fingerprint("police.violent_incident", 1)


def test_v1_bytes_are_read_with_the_v2_reader_and_take_the_default(store: SchemaStore) -> None:
    decoded = store.decode(store.encode("police.violent_incident", incident(), version=1))
    assert decoded.writer_version == 1
    assert decoded.record["injury_severity"] == "UNKNOWN"
    assert decoded.record["envelope"]["schema_version"] == 1


def test_v2_bytes_keep_their_value(store: SchemaStore) -> None:
    record = {**incident(), "injury_severity": "SERIOUS"}
    decoded = store.decode(store.encode("police.violent_incident", record))
    assert (decoded.writer_version, decoded.record["injury_severity"]) == (2, "SERIOUS")


def test_encode_stamps_type_and_version(store: SchemaStore) -> None:
    envelope = store.decode(store.encode("police.violent_incident", incident())).record["envelope"]
    assert (envelope["event_type"], envelope["schema_version"]) == ("police.violent_incident", 2)


@pytest.mark.parametrize(
    ("override", "field"),
    [({"event_type": "police.arrest"}, "event_type"), ({"schema_version": 7}, "schema_version")],
)
def test_encode_refuses_an_envelope_that_contradicts_the_schema(
    store: SchemaStore, override: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError, match=f"envelope.{field}"):
        store.encode("police.violent_incident", incident(**override))


def test_encode_error_names_the_field_never_the_value(store: SchemaStore) -> None:
    record = incident(lsoa=12345678)
    with pytest.raises(ValidationError) as info:
        store.encode("police.violent_incident", record)
    assert "lsoa" in str(info.value)
    assert "12345678" not in str(info.value)


def test_encode_refuses_unknown_type_and_version(store: SchemaStore) -> None:
    with pytest.raises(SchemaError, match="unknown event type"):
        store.encode("police.parking_ticket", incident())
    with pytest.raises(SchemaError, match="no schema version 9"):
        store.encode("police.violent_incident", incident(), version=9)


def test_decode_refuses_an_unknown_fingerprint(store: SchemaStore) -> None:
    data = store.encode("police.violent_incident", incident())
    forged = data[:2] + bytes(8) + data[10:]
    with pytest.raises(UnknownSchemaError) as info:
        store.decode(forged)
    assert info.value.fingerprint == bytes(8)


def test_decode_refuses_trailing_bytes(store: SchemaStore) -> None:
    with pytest.raises(DecodeError, match="left after the record"):
        store.decode(store.encode("police.violent_incident", incident()) + b"\x00")


def test_decode_refuses_a_body_claiming_another_event_type(store: SchemaStore) -> None:
    """Bytes whose envelope names another type than the fingerprint's schema: DecodeError."""
    assert store.decode(encode_with(dict(store.schema("police.arrest")), _arrest())).record
    wrong = _arrest()
    wrong["envelope"]["event_type"] = "police.stop_search"
    forged = encode_with(dict(store.schema("police.arrest")), wrong)
    with pytest.raises(DecodeError, match="event_type contradicts"):
        store.decode(forged)


def test_decode_refuses_a_body_claiming_another_version(store: SchemaStore) -> None:
    wrong = _arrest()
    wrong["envelope"]["schema_version"] = 3
    forged = encode_with(dict(store.schema("police.arrest")), wrong)
    with pytest.raises(DecodeError, match="schema_version contradicts"):
        store.decode(forged)


def _arrest() -> dict[str, Any]:
    envelope = {**incident()["envelope"], "event_type": "police.arrest", "schema_version": 1}
    return {
        "envelope": envelope,
        "offence_group": "DRUG_OFFENCES",
        "drug_class": "CLASS_A",
        "intent_to_supply": True,
        "outcome": "CHARGED",
    }


def test_fields_list_envelope_and_type_fields_with_sensitivity(store: SchemaStore) -> None:
    fields = store.fields("police.violent_incident")
    assert fields["envelope.age"].avro_type == "null | int"
    assert fields["envelope.occurred_at"].avro_type == "timestamp-millis"
    assert fields["offence"].sensitivity == "criminal_offence"
    assert fields["exploitation_concern"].sensitivity == "special_category"
    assert fields["location_type"].sensitivity == "normal"
    assert fields["injury_severity"].avro_type == "enum InjurySeverity"
    assert "envelope" not in fields


def test_health_is_area_only_and_others_need_a_subject(store: SchemaStore) -> None:
    rules = {t: store.subject_rule(t) for t in ALL_TYPES}
    assert {t for t, rule in rules.items() if rule == "forbidden"} == {"health.ed_assault"}
    assert "envelope.subject_token" in store.fields("health.ed_assault")


def test_every_type_but_attendance_has_a_sensitive_field(store: SchemaStore) -> None:
    """Attendance figures and consent records are ordinary personal data; the rest is Art. 9/10."""
    unmarked = [
        t for t in ALL_TYPES if all(f.sensitivity == "normal" for f in store.fields(t).values())
    ]
    consent = ["consent.expired", "consent.given", "consent.withdrawn"]
    assert unmarked == [*consent, "education.persistent_absence"]


@FIXTURE_SETTINGS
@given(data=st.data(), event_type=st.sampled_from(ALL_TYPES))
def test_round_trip_every_type(
    store: SchemaStore, records: Any, data: st.DataObject, event_type: str
) -> None:
    record = data.draw(records(event_type))
    decoded = store.decode(store.encode(event_type, record))
    expected_envelope = {
        **record["envelope"],
        "event_type": event_type,
        "schema_version": store.current_version(event_type),
    }
    assert decoded.record == {**record, "envelope": expected_envelope}
    assert decoded.event_type == event_type


@FIXTURE_SETTINGS
@given(data=st.data())
def test_round_trip_v1_writer_resolves_to_v2(
    store: SchemaStore, records: Any, data: st.DataObject
) -> None:
    record = data.draw(records("police.violent_incident", 1))
    decoded = store.decode(store.encode("police.violent_incident", record, version=1))
    assert decoded.writer_version == 1
    assert decoded.record["injury_severity"] == "UNKNOWN"
    assert {
        k: v for k, v in decoded.record.items() if k not in ("envelope", "injury_severity")
    } == {k: v for k, v in record.items() if k != "envelope"}
