"""Place-based alerts: the ED assault hot-spot rule over one LSOA's counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.hotspot import AreaState, fold_area, shown
from hub.models import Event, validate_event
from hub.rules.area import check_area_rules, load_area_rules
from tests.integration.events import READING_LSOA, STORE, record

RULES = load_area_rules(Path(__file__).parents[3] / "deploy" / "rules")
START = datetime(2025, 1, 6, 21, 0, tzinfo=UTC)


def assault(seed: int, day: int, lsoa: str = READING_LSOA) -> Event:
    rec = record("health.ed_assault", "health", lsoa, seed, occurred=START + timedelta(days=day))
    rec["envelope"]["key_id"] = "k1"
    return validate_event(STORE.decode(STORE.encode("health.ed_assault", rec)), clock=None)


def run(days: list[int]) -> tuple[AreaState, list[int]]:
    """Fold one assault per listed day; the index of each event that raised an alert."""
    state, raised = AreaState(), []
    for n, day in enumerate(days):
        state, found = fold_area(state, assault(n, day), RULES)
        raised += [n] * len(found)
    return state, raised


def test_the_shipped_area_rule_checks() -> None:
    assert [r.id for r in RULES] == ["ed-assault-hotspot"]
    assert (
        check_area_rules(
            Path(__file__).parents[3] / "deploy" / "rules", frozenset({"health.ed_assault"})
        )
        == []
    )
    assert check_area_rules(Path(__file__).parents[3] / "deploy" / "rules", frozenset()) != []


def test_a_flat_baseline_raises_nothing() -> None:
    """Two assaults a month for fourteen months: never five in 28 days, never twice usual."""
    _, raised = run([d for month in range(14) for d in (month * 30 + 3, month * 30 + 17)])
    assert raised == []


def test_a_busy_but_steady_area_raises_nothing() -> None:
    """Six a month all year: five in 28 days is usual there, not twice its baseline."""
    _, raised = run([month * 30 + k * 5 for month in range(14) for k in range(6)])
    assert raised == []


def test_a_hot_spot_raises_once_with_its_counts_and_baseline() -> None:
    """One a month for thirteen months, then six in a fortnight: raised at the fifth, once."""
    quiet = [month * 30 for month in range(13)]
    burst = [400 + 2 * k for k in range(6)]
    state, raised = run(quiet + burst)
    assert raised == [len(quiet) + 4]
    assert "ed-assault-hotspot" in state.raised


def test_a_redelivered_event_changes_nothing() -> None:
    state, _ = run([0, 1, 2])
    again, found = fold_area(state, assault(2, 2), RULES)
    assert (again, found) == (state, [])


def test_small_figures_read_as_suppressed() -> None:
    assert [shown(0), shown(1), shown(4), shown(5)] == [0, "<5", "<5", 5]


def test_nothing_is_judged_before_a_whole_baseline_has_been_observed() -> None:
    """Six in a fortnight in a feed's first month: no history yet, so no alert."""
    _, raised = run([2 * k for k in range(6)])
    assert raised == []


def test_each_folded_state_is_the_validated_state_of_its_values() -> None:
    """fold_area builds its states without validating values it made itself: each is equal,
    field for field and as JSON, to the state pydantic validates from the same values, and
    its stored bytes read back (parsed, not remembered) to an equal state."""
    quiet = [month * 30 for month in range(13)]
    state, raised = AreaState(), []
    for n, day in enumerate(quiet + [400 + 2 * k for k in range(6)] + [800]):
        state, found = fold_area(state, assault(n, day), RULES)
        raised += found
        validated = AreaState(**{name: getattr(state, name) for name in AreaState.model_fields})
        assert state == validated
        assert state.model_dump_json() == validated.model_dump_json()
        assert state.model_fields_set == validated.model_fields_set
        assert AreaState.model_validate_json(state.to_bytes()) == state
    assert len(raised) == 1
    assert not state.raised


def test_stored_bytes_this_process_wrote_read_back_without_parsing() -> None:
    state, _ = run([0, 1, 2])
    data = state.to_bytes()
    assert AreaState.from_bytes(data) is state
    again = AreaState.from_bytes(data)  # taken once: a second read parses
    assert again == state
    assert again is not state


def test_stored_bytes_not_written_here_are_parsed_and_validated() -> None:
    state, _ = run([0, 1])
    foreign = state.model_dump_json().replace('"days"', '"days" ').encode()
    assert AreaState.from_bytes(foreign) == state
    bad = state.model_dump_json().replace("2025", "x").replace(":1", ':"one"').encode()
    with pytest.raises(ValidationError):
        AreaState.from_bytes(bad)
    assert AreaState.from_bytes(b"") == AreaState()
