"""Interop with the Apache Software Foundation's own ``avro`` package (not fastavro)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
import pytest

from hub.codec import SchemaStore, fingerprint

TOKEN = "lt1:0123456789abcdef:" + "a" * 52  # a well-formed linkage token

STORE = SchemaStore.load(Path("schemas"))


def apache_schema(event_type: str, version: int) -> Any:
    return avro.schema.parse(json.dumps(STORE.schema(event_type, version)))


def apache_encode(event_type: str, version: int, record: dict[str, Any]) -> bytes:
    """Body written by Apache avro, framed single-object by hand (as another producer would)."""
    schema = apache_schema(event_type, version)
    buffer = io.BytesIO()
    avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(buffer))
    return b"\xc3\x01" + STORE.fingerprint(event_type, version) + buffer.getvalue()


def incident(version: int) -> dict[str, Any]:
    return {
        "envelope": {
            "event_id": "0190f0e2-3c4d-7a1b-9c2d-4e5f60718293",
            "agency_id": "police",
            "event_type": "police.violent_incident",
            "occurred_at": datetime(2018, 6, 14, 23, 5, 12, 345000, tzinfo=UTC),
            "recorded_at": datetime(2018, 6, 15, 1, 0, tzinfo=UTC),
            "subject_token": TOKEN,
            "lsoa": "E01016012",
            "age": 17,
            "schema_version": version,
            "key_id": "police-2018-06",
        },
        "offence": "ROBBERY",
        "subject_role": "SUSPECT",
        "weapon": "KNIFE_OR_SHARP_INSTRUMENT",
        "location_type": "PUBLIC_TRANSPORT",
        "domestic": False,
        "exploitation_concern": True,
        "outcome": "SUSPECT_CHARGED",
    }


def test_apache_avro_agrees_on_fingerprints_without_logical_types() -> None:
    schema = json.loads(Path("../shared/vectors/avro/messageV1/test_schema.avsc").read_text())
    apache = avro.schema.parse(json.dumps(schema))
    assert apache.fingerprint("CRC-64-AVRO") == fingerprint(schema)


def test_apache_avro_python_departs_from_the_spec_on_logical_types() -> None:
    """avro 1.12 (Python) keeps ``{"type":"long"}`` for a timestamp in the canonical form; the
    spec's [PRIMITIVES] rule, Java and fastavro write ``"long"``. The hub follows the spec, so
    a producer on that library must take the fingerprint from the hub (``schema`` and
    ``fingerprint``), not from ``Schema.fingerprint``."""
    apache = apache_schema("police.violent_incident", 2)
    assert '"occurred_at","type":{"type":"long"}' in apache.canonical_form
    assert apache.fingerprint("CRC-64-AVRO") != STORE.fingerprint("police.violent_incident", 2)


@pytest.mark.parametrize("version", [1, 2])
def test_bytes_written_by_apache_avro_decode(version: int) -> None:
    record = incident(version)
    if version == 2:
        record["injury_severity"] = "MODERATE"
    decoded = STORE.decode(apache_encode("police.violent_incident", version, record))
    assert decoded.writer_version == version
    expected = {**record, "injury_severity": record.get("injury_severity", "UNKNOWN")}
    assert decoded.record == expected


def test_area_only_event_from_apache_avro() -> None:
    record = {
        "envelope": {
            **incident(1)["envelope"],
            "agency_id": "health",
            "event_type": "health.ed_assault",
            "subject_token": None,
            "age": None,
        },
        "arrival_at": datetime(2018, 6, 15, 0, 40, tzinfo=UTC),
        "assault_at": None,
        "assault_method": "GLASS_OR_BOTTLE",
        "location_type": "NIGHTCLUB",
        "location_description": "queue outside a club",
        "ed_site_code": "RHW01",
    }
    decoded = STORE.decode(apache_encode("health.ed_assault", 1, record))
    assert decoded.record == record


def test_our_bytes_are_read_by_apache_avro() -> None:
    data = STORE.encode("police.violent_incident", incident(1), version=1)
    assert data[:2] == b"\xc3\x01"
    schema = apache_schema("police.violent_incident", 1)
    reader = avro.io.DatumReader(schema)
    record = reader.read(avro.io.BinaryDecoder(io.BytesIO(data[10:])))
    assert record == incident(1)
