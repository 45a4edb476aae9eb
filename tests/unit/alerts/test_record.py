"""Sealing and opening alert records: round trips, determinism, order of checks, no leaks."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.alerts import (
    AlertBody,
    AlertKind,
    AlertRecord,
    ContributingEvent,
    Heartbeat,
    OpenedAlert,
    heartbeat,
    open_alert,
    seal_alert,
)
from hub.alerts.headers import CONTENT_TYPE, parse_meta
from hub.errors import DecodeError, DecryptionError, ValidationError
from tests.unit.alerts.builders import DECIDED, HUB, READING, SLOUGH, SUBJECT, sample_body


def _seal(body: AlertBody, seq: int = 1) -> AlertRecord:
    return seal_alert(body, seq, "reading", READING.public_key, HUB)


def test_round_trip_gives_back_the_body_seq_and_key_ids() -> None:
    body = sample_body()
    opened = open_alert(_seal(body, 7), "reading", READING, [HUB.verify_key])
    assert opened == OpenedAlert(7, body, HUB.key_id, READING.key_id)


@pytest.mark.parametrize("kind", list(AlertKind))
def test_every_kind_has_its_cloudevents_type(kind: AlertKind) -> None:
    body = sample_body(kind=AlertKind.RAISED)
    area = kind is AlertKind.AREA_RAISED  # a place-based alert names an area, not a person
    record = _seal(
        replace(body, kind=kind, subject="area:E01016353") if area else replace(body, kind=kind)
    )
    assert dict(record.headers)["ce_type"] == f"vru.{kind.value}".encode()
    opened = open_alert(record, "reading", READING, [HUB.verify_key])
    assert isinstance(opened, OpenedAlert)
    assert opened.body.kind is kind


def test_headers_are_cloudevents_plus_hub_metadata_and_nothing_sensitive() -> None:
    record = _seal(sample_body(), 42)
    headers = {name: value.decode() for name, value in record.headers}
    assert record.key == b"al-0001"
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == "al-0001"
    assert headers["ce_source"] == "/vru-hub/alerts/reading"
    assert headers["ce_time"] == "2024-05-06T09:30:12.345Z"
    assert headers["content-type"] == CONTENT_TYPE
    assert headers["vru-seq"] == "42"
    assert headers["vru-recipient-key"] == READING.key_id
    assert headers["vru-hub-key"] == HUB.key_id
    clear = b"".join(n.encode() + v for n, v in record.headers) + record.value
    for secret in (SUBJECT, "missing-exploitation-police", "childrens-social-care", "high"):
        assert secret.encode() not in clear


def test_body_bytes_are_deterministic_and_sorted() -> None:
    first, second = sample_body().to_bytes(), sample_body().to_bytes()
    assert first == second
    doc = json.loads(first)
    assert list(doc) == sorted(doc)
    assert doc["ask"] == ["childrens-social-care", "police"]
    assert doc["agreements"] == ["csc-exploitation@1.2", "tv-vru-core@3"]
    assert b" " not in first.replace(b"Missing, ", b"").split(b'"explanation"')[0]


def test_body_json_round_trips() -> None:
    body = sample_body()
    assert AlertBody.from_bytes(body.to_bytes()) == body


def test_ciphertexts_differ_for_the_same_body() -> None:
    assert _seal(sample_body()).value != _seal(sample_body()).value


def test_a_key_not_held_cannot_decrypt() -> None:
    with pytest.raises(DecryptionError):
        open_alert(_seal(sample_body()), "reading", SLOUGH, [HUB.verify_key])


def test_rotation_overlap_opens_with_any_held_key() -> None:
    opened = open_alert(_seal(sample_body()), "reading", [SLOUGH, READING], [HUB.verify_key])
    assert isinstance(opened, OpenedAlert)


def test_heartbeat_round_trip() -> None:
    at = datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
    record = heartbeat("reading", 17, at, HUB)
    assert record.value == b""
    opened = open_alert(record, "reading", READING, [HUB.verify_key])
    assert opened == Heartbeat("reading", 17, at, HUB.key_id)
    assert parse_meta(record.headers).seq is None


def test_record_json_is_lossless() -> None:
    record = _seal(sample_body(), 3)
    copy = AlertRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert copy == record


def test_malformed_record_json_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        AlertRecord.from_json({"format": "vru-alert-record/v1", "key": "a", "headers": 3})


@pytest.mark.parametrize("seq", [0, -1])
def test_sequence_numbers_start_at_one(seq: int) -> None:
    with pytest.raises(ValidationError):
        _seal(sample_body(), seq)


def test_subject_must_be_a_partnership_pseudonym() -> None:
    body = sample_body()
    with pytest.raises(ValidationError):
        dataclasses.replace(body, subject="lt1:" + SUBJECT[4:])


def test_subject_is_hidden_from_repr() -> None:
    assert SUBJECT not in repr(sample_body())


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20))


@given(
    fields=st.dictionaries(st.text(min_size=1, max_size=10), SCALARS, max_size=5),
    explanation=st.text(max_size=200),
    seq=st.integers(1, 2**63 - 1),
)
def test_any_allowed_content_round_trips(
    fields: dict[str, object], explanation: str, seq: int
) -> None:
    base = sample_body()
    event = ContributingEvent("education.exclusion", "education", date(2024, 4, 1), fields)  # type: ignore[arg-type]  # hypothesis gives object-typed scalars
    rule = type(base.rule)(base.rule.id, base.rule.version, base.rule.title, explanation)
    body = dataclasses.replace(base, events=(event,), rule=rule)
    opened = open_alert(_seal(body, seq), "reading", READING, [HUB.verify_key])
    assert isinstance(opened, OpenedAlert)
    assert (opened.seq, opened.body) == (seq, body)
    assert opened.body.decided_at == DECIDED
