"""plain_envelope: an envelope it takes is the one validation builds; it takes nothing that
validation refuses (hub.models.envelope)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError

from hub.models.envelope import Envelope, plain_envelope

TOKEN = "lt1:0123456789abcdef:" + "a" * 52
AT = datetime(2026, 8, 2, 12, 32, 37, 331000, tzinfo=UTC)


def _raw(**changes: Any) -> dict[str, Any]:
    raw = {
        "event_id": "019fc276-3fd3-7d5a-a7ef-803fd7f32c0f",
        "agency_id": "youth-justice",
        "event_type": "youth_justice.court_outcome",
        "occurred_at": AT,
        "recorded_at": AT + timedelta(hours=2),
        "subject_token": TOKEN,
        "lsoa": "E01017814",
        "age": 16,
        "schema_version": 1,
        "key_id": "c59eca41312d89af",
    }
    return raw | changes


def _validated(raw: dict[str, Any]) -> Envelope | None:
    try:
        return Envelope.model_validate(raw)
    except PydanticValidationError:
        return None


def _check(raw: dict[str, Any]) -> Envelope | None:
    """plain_envelope's answer, checked against validation's: equal when taken, and never
    taking what validation refuses."""
    plain = plain_envelope(raw)
    validated = _validated(raw)
    if plain is not None:
        assert validated is not None
        assert plain == validated
        assert plain.__dict__ == validated.__dict__
        assert list(plain.__dict__) == list(validated.__dict__)
        assert plain.model_fields_set == validated.model_fields_set
        assert plain.model_dump_json() == validated.model_dump_json()
        assert hash(plain) == hash(validated)
    return plain


@pytest.mark.parametrize(
    "changes", [{}, {"subject_token": None}, {"age": None}, {"age": 0}, {"age": 120}]
)
def test_a_valid_envelope_is_taken_as_validation_builds_it(changes: dict[str, Any]) -> None:
    assert _check(_raw(**changes)) is not None


def test_the_plain_envelope_is_frozen_and_owns_its_values() -> None:
    raw = _raw()
    plain = plain_envelope(raw)
    assert plain is not None
    raw["lsoa"] = "E09999999"
    assert plain.lsoa == "E01017814"
    with pytest.raises(PydanticValidationError, match="frozen"):
        plain.lsoa = "E01000001"  # type: ignore[misc]  # the point: assignment is refused


@pytest.mark.parametrize(
    "changes",
    [
        {"event_id": "019fc276-3fd3-7d5a-a7ef-803fd7f32c0f\n"},  # re's $ would take it
        {"event_id": "019FC276-3FD3-7D5A-A7EF-803FD7F32C0F"},
        {"event_id": "019fc276-3fd3-4d5a-a7ef-803fd7f32c0f"},  # a UUIDv4
        {"agency_id": "-police"},
        {"agency_id": ""},
        {"event_type": "police"},
        {"lsoa": "E0101781\u0664"},  # an Arabic-Indic digit: not plain, validation decides
        {"lsoa": "S01017814"},
        {"lsoa": "E01017814\n"},
        {"key_id": "." + "a" * 10},
        {"key_id": "a" * 129},
        {"subject_token": TOKEN.upper()},
        {"subject_token": TOKEN + "\n"},
        {"subject_token": 5},
        {"age": -1},
        {"age": 121},
        {"age": True},  # a bool is an int to Python, not to the decoder
        {"age": 16.0},
        {"schema_version": 0},
        {"schema_version": "1"},
        {"occurred_at": AT + timedelta(hours=3)},  # after recorded_at
        {"occurred_at": AT.replace(tzinfo=None)},
        {"occurred_at": AT.replace(tzinfo=timezone(timedelta(hours=1)))},
        {"recorded_at": (AT + timedelta(hours=2)).replace(tzinfo=ZoneInfo("UTC"))},
        {"recorded_at": "2026-08-02T14:32:37Z"},
        {"extra": 1},
    ],
)
def test_anything_not_plain_is_left_to_validation(changes: dict[str, Any]) -> None:
    assert _check(_raw(**changes)) is None


def test_missing_or_reordered_fields_are_left_to_validation() -> None:
    raw = _raw()
    del raw["age"]
    assert _check(raw) is None
    assert _check(dict(reversed(_raw().items()))) is None
    assert plain_envelope([("event_id", "x")]) is None


_TEXT = st.text(alphabet="0123456789abcdefABEFW-_.:/7\n \u0664lt", max_size=40)


@settings(max_examples=400)
@given(
    name=st.sampled_from(
        ["event_id", "agency_id", "event_type", "lsoa", "key_id", "subject_token"]
    ),
    value=_TEXT,
)
def test_no_string_validation_refuses_is_taken(name: str, value: str) -> None:
    _check(_raw(**{name: value}))


@settings(max_examples=200)
@given(
    age=st.one_of(st.none(), st.integers(-5, 130), st.booleans()),
    version=st.integers(-2, 3),
    gap=st.integers(-10_000, 10_000),
)
def test_no_number_or_time_validation_refuses_is_taken(age: Any, version: int, gap: int) -> None:
    raw = _raw(age=age, schema_version=version, recorded_at=AT + timedelta(milliseconds=gap))
    _check(raw)
