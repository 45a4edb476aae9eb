"""Small-number suppression: cells and totals, and that totals never give a cell away."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.board import SUPPRESSED, cell, total


@pytest.mark.parametrize(
    ("count", "text", "value"),
    [(0, "0", 0), (1, "<5", None), (4, "<5", None), (5, "5", 5), (1234, "1234", 1234)],
)
def test_a_cell_shows_zero_suppresses_one_to_four_and_shows_five_and_more(
    count: int, text: str, value: int | None
) -> None:
    assert (cell(count).text, cell(count).value) == (text, value)


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        cell(-1)


def test_totals_are_exact_without_suppression_and_ranges_with_it() -> None:
    assert total([cell(5), cell(0), cell(12)]).text == "17"
    assert total([cell(12), cell(3), cell(2)]).text == "14\u201320"
    assert total([cell(3)]).text == SUPPRESSED
    assert total([cell(1), cell(2)]).text == "<9"
    assert total([]).text == "0"


counts = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=12)


@given(counts, st.data())
def test_a_total_depends_only_on_what_the_cells_show(
    values: list[int], data: st.DataObject
) -> None:
    """Swap every suppressed count for any other count from 1 to 4: nothing shown changes."""
    swapped = [data.draw(st.integers(1, 4)) if 1 <= v <= 4 else v for v in values]
    shown = [cell(v) for v in values]
    assert [c.text for c in shown] == [cell(v).text for v in swapped]
    assert total(shown).text == total(cell(v) for v in swapped).text


@given(counts)
def test_a_total_holds_the_true_sum_and_never_shows_a_count_from_one_to_four(
    values: list[int],
) -> None:
    figure = total(cell(v) for v in values)
    assert figure.low <= sum(values) <= figure.high
    assert figure.text not in {"1", "2", "3", "4"}
    if figure.value is not None:
        assert figure.value == sum(values)
