"""The tests' own builders refuse names they do not know, and date events relative to the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.events import READING_LSOA, record
from tests.recent import month_start


def test_record_refuses_an_envelope_name_it_does_not_know() -> None:
    with pytest.raises(TypeError, match="'occured_at'"):
        record("police.arrest", "police", READING_LSOA, 1, occured_at=datetime.now(UTC))


def test_record_refuses_a_body_field_the_schema_does_not_have() -> None:
    with pytest.raises(TypeError, match="'stage'"):
        record("police.arrest", "police", READING_LSOA, 1, fields={"stage": "DISENGAGED"})


def test_record_sets_when_the_event_happened() -> None:
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=6)
    envelope = record("police.arrest", "police", READING_LSOA, 1, occurred=when)["envelope"]
    assert (envelope["occurred_at"], envelope["recorded_at"]) == (when, when + timedelta(hours=1))


def test_a_default_event_happened_in_the_fortnight_before_the_run() -> None:
    now = datetime.now(UTC)
    for seed in (0, 16_000):
        occurred = record("police.arrest", "police", READING_LSOA, seed)["envelope"]["occurred_at"]
        assert now - timedelta(days=15) < occurred < now - timedelta(days=2)


def test_month_start_counts_back_across_years() -> None:
    assert month_start(4, datetime(2027, 2, 17, tzinfo=UTC).date()).isoformat() == "2026-10-01"
    assert month_start(0, datetime(2027, 2, 17, tzinfo=UTC).date()).isoformat() == "2027-02-01"
