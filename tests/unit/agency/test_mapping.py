"""Mapping files: CSV and JSON Lines rows to drafts, with value maps, formats and rejects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.agency import (
    AgencyClient,
    FileFeed,
    RowMapper,
    RowMapping,
    read_rows,
)
from hub.codec import SchemaStore
from hub.errors import ConfigError
from hub.models import validate_event
from hub.pseudonym import NationalIdentity, PersonIdentity
from tests.unit.agency.conftest import CANARY, leaks

DATA = Path(__file__).parent / "data"


@pytest.fixture
def school(store: SchemaStore) -> RowMapper:
    return RowMapper(RowMapping.load(DATA / "school-suspensions.yaml"), store)


def test_csv_rows_are_mapped_with_value_maps_formats_and_local_time(school: RowMapper) -> None:
    rows = [row for _, row in read_rows(DATA / "school-suspensions.csv", "csv")]
    draft = school.draft(rows[0])  # type: ignore[arg-type]  # the first row reads cleanly
    assert draft.event_type == "education.suspension"
    assert draft.occurred_at == datetime(2024, 6, 3, 9, 15, tzinfo=UTC)  # 10:15 BST
    assert draft.source_ref == "S1|1001"
    assert draft.age == 15
    assert draft.fields == {
        "kind": "SUSPENSION",
        "reason": "PHYSICAL_ASSAULT_AGAINST_A_PUPIL",
        "sessions": 4,
        "phase": "SECONDARY",
        "sen_provision": "NONE",
        "free_school_meals": True,
    }
    assert isinstance(draft.identity, PersonIdentity)


def test_a_file_feed_seals_good_rows_and_keeps_bad_rows_with_reasons(
    client: AgencyClient, school: RowMapper, store: SchemaStore
) -> None:
    feed = FileFeed(client, school)
    batches = list(feed.batches(read_rows(DATA / "school-suspensions.csv", "csv")))
    messages = [m for b in batches for m in b.batch.messages]
    rejected = {r.reject.line: r for b in batches for r in b.rejected}
    # line numbers count the header as line 1
    assert {line: r.reject.reason for line, r in rejected.items()} == {
        3: "invalid_identifier",  # postcode
        4: "invalid_field",  # a Type code not in the value map
        5: "invalid_field",  # zero sessions for a suspension
        6: "invalid_identifier",  # no date of birth
        7: "invalid_field",  # occurred_at not in the mapping's format
        8: "decode_error",  # more cells than the header
    }
    assert rejected[3].row is not None
    assert rejected[3].row["Ref"] == "1002"
    assert rejected[8].row is None
    assert all(leaks(r.reject.detail) == [] for r in rejected.values())
    events = [validate_event(store.decode(m.value)) for m in messages]
    assert [e.fields["reason"] for e in events] == ["PHYSICAL_ASSAULT_AGAINST_A_PUPIL", "OTHER"]
    assert events[1].envelope.lsoa == "E01016353"
    assert events[0].subject_token == events[1].subject_token  # "rg17zz" normalises alike
    assert all(leaks(m.value) == [] and leaks(m.key) == [] for m in messages)


def test_jsonl_in_the_hubs_own_names_needs_no_mapping(
    client: AgencyClient, store: SchemaStore, tmp_path: Path
) -> None:
    rows = [
        {
            "event_type": "education.persistent_absence",
            "occurred_at": "2024-06-01T08:00:00Z",
            "lsoa": "E01016353",
            "source_ref": "pa-1",
            "nhs_number": CANARY["nhs_number"],
            "date_of_birth": CANARY["date_of_birth"],
            "term": "SUMMER",
            "academic_year": "2023/24",
            "sessions_possible": 120,
            "sessions_absent": 30,
            "sessions_unauthorised": 12,
            "phase": "SECONDARY",
        },
        {"event_type": "education.suspension", "lsoa": "E01016353"},
        "not an object",
    ]
    path = tmp_path / "absence.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n", encoding="utf-8")
    mapper = RowMapper(RowMapping.by_name(), store)
    first = next(read_rows(path, "jsonl"))[1]
    assert isinstance(first, dict)
    draft = mapper.draft(first)
    assert isinstance(draft.identity, NationalIdentity)
    assert draft.age == 15
    (batch,) = list(FileFeed(client, mapper).batches(read_rows(path, "jsonl")))
    assert len(batch.batch.messages) == 1
    assert [(r.reject.line, r.reject.reason) for r in batch.rejected] == [
        (2, "invalid_field"),
        (3, "decode_error"),
        (4, "decode_error"),
    ]
    assert batch.rejected[0].reject.detail == "occurred_at: is required"


def test_row_without_any_identifier_is_area_only(store: SchemaStore) -> None:
    mapper = RowMapper(RowMapping.by_name(), store)
    row = {
        "event_type": "health.ed_assault",
        "occurred_at": "2024-06-01T08:00",
        "lsoa": "E01016353",
        "arrival_at": "2024-06-01T09:10",
        "assault_method": "BODY_PART",
        "location_type": "STREET",
        "ed_site_code": "RHW01",
    }
    draft = mapper.draft(row)
    assert draft.identity is None
    assert draft.age is None
    assert draft.source_ref.startswith("row:")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("format: other/v9\nevent_type: x\nenvelope: {occurred_at: a, lsoa: b}\n", "format"),
        ("event_type: x\n", "envelope"),
        ("event_type: x\nenvelope: {occurred_at: a, lsoa: b}\ncolour: red\n", "colour"),
        (
            "event_type: x\ntimezone: Mars/Olympus\nenvelope: {occurred_at: a, lsoa: b}\n",
            "timezone",
        ),
        ("[unclosed\n", "cannot read"),
    ],
)
def test_a_bad_mapping_file_is_a_config_error(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=problem):
        RowMapping.load(path)
