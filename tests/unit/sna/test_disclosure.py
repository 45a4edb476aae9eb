"""Disclosure control: no released figure from 1 to 4, and no suppressed count recoverable.

The attacker here is independent of the suppression algorithm: it writes down every equation
a reader of a release has (each row and each column of each table sums to its shown total,
and the tables share their month totals and grand total), solves them exactly in rational
arithmetic, and reports every hidden cell the equations pin down.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.sna import TOTAL, Cell, Control, Counted, Protected, linked_tables, protect

Unknown = tuple[str, str, str]  # (table, row, column); shared totals use table "*"


def _equations(tables: Mapping[str, Protected]) -> list[tuple[dict[Unknown, int], int]]:
    """Every published relation as (coefficients of hidden cells, constant) = 0."""

    def term(name: str, table: Protected, row: str, column: str) -> Unknown | int:
        shown = table.shown(row, column)
        if shown is not None:
            return shown
        if row == TOTAL and column in {TOTAL, "period"}:  # the grand total, in every table
            return ("*", TOTAL, TOTAL)
        return (name, row, column)

    found = []
    for name, table in tables.items():
        rows, columns = (*table.rows, TOTAL), (*table.columns, TOTAL)
        lines = [[(r, c) for c in table.columns] + [(r, TOTAL)] for r in rows]
        lines += [[(r, c) for r in table.rows] + [(TOTAL, c)] for c in columns]
        for line in lines:
            coefficients: Counter[Unknown] = Counter()
            constant = 0
            for n, (row, column) in enumerate(line):
                sign = -1 if n == len(line) - 1 else 1  # the parts minus their total
                value = term(name, table, row, column)
                if isinstance(value, int):
                    constant += sign * value
                else:
                    coefficients[value] += sign
            if coefficients:
                found.append((dict(coefficients), constant))
    return found


def recoverable(tables: Mapping[str, Protected]) -> set[Unknown]:
    """The hidden cells the published equations determine (exact elimination)."""
    equations = _equations(tables)
    unknowns = sorted({u for coefficients, _ in equations for u in coefficients})
    index = {u: n for n, u in enumerate(unknowns)}
    matrix = [[Fraction(0)] * len(unknowns) for _ in equations]
    for row, (coefficients, _) in zip(matrix, equations, strict=True):
        for unknown, value in coefficients.items():
            row[index[unknown]] = Fraction(value)
    pivots = _reduce(matrix)
    return {
        unknowns[column]
        for line, column in pivots
        if all(v == 0 for n, v in enumerate(matrix[line]) if n != column)
    }


def _reduce(matrix: list[list[Fraction]]) -> list[tuple[int, int]]:
    """Reduced row echelon form in place; the (row, column) of each pivot."""
    pivots, line = [], 0
    width = len(matrix[0]) if matrix else 0
    for column in range(width):
        found = next((r for r in range(line, len(matrix)) if matrix[r][column] != 0), None)
        if found is None:
            continue
        matrix[line], matrix[found] = matrix[found], matrix[line]
        lead = matrix[line][column]
        matrix[line] = [v / lead for v in matrix[line]]
        for other in range(len(matrix)):
            if other != line and matrix[other][column] != 0:
                factor = matrix[other][column]
                matrix[other] = [
                    a - factor * b for a, b in zip(matrix[other], matrix[line], strict=True)
                ]
        pivots.append((line, column))
        line += 1
    return pivots


def _shown_values(table: Protected) -> list[int]:
    rows, columns = (*table.rows, TOTAL), (*table.columns, TOTAL)
    return [v for r in rows for c in columns if (v := table.shown(r, c)) is not None]


def test_the_attacker_recovers_a_lone_suppressed_cell_when_complements_are_missing() -> None:
    """The check can fail: with primary suppression only, a row total gives the cell away."""
    table = protect(
        {("a", "m1"): 3, ("a", "m2"): 20, ("b", "m1"): 30, ("b", "m2"): 40},
        ("a", "b"),
        ("m1", "m2"),
    )
    bare = Protected(table.rows, table.columns, table.counts, frozenset({("a", "m1")}))
    assert recoverable({"t": bare}) == {("t", "a", "m1")}
    assert recoverable({"t": table}) == set()


def test_small_counts_and_small_totals_are_hidden_and_zero_is_shown() -> None:
    table = protect(
        {("a", "m1"): 2, ("a", "m2"): 0, ("b", "m1"): 9, ("b", "m2"): 7}, ("a", "b"), ("m1", "m2")
    )
    assert table.shown("a", "m1") is None
    assert table.shown("a", TOTAL) is None  # 2 is a small count too
    assert table.shown("a", "m2") == 0
    assert table.shown(TOTAL, TOTAL) == 18


def test_rounding_rounds_every_shown_figure_to_its_base() -> None:
    table = protect({("a", "m1"): 12, ("a", "m2"): 18}, ("a",), ("m1", "m2"), base=5)
    assert [table.shown("a", "m1"), table.shown("a", "m2"), table.shown("a", TOTAL)] == [10, 20, 30]


def test_a_threshold_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="protects nothing"):
        protect({}, (), ("m1",), threshold=1)


small_counts = st.integers(0, 12) | st.integers(0, 400)
cells = st.dictionaries(
    st.tuples(
        st.sampled_from(["E06000036", "E06000037", "E06000038", "E10000025"]),
        st.sampled_from(["2026-01", "2026-02", "2026-03"]),
        st.sampled_from(["police.violent_incident", "health.ed_assault", "education.suspension"]),
        st.sampled_from(["police", "health", "education"]),
        st.sampled_from(["10-13", "14-17", "unknown"]),
    ),
    small_counts,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(cells, st.integers(5, 10))
def test_no_release_shows_a_small_count_or_lets_one_be_recovered(
    raw: dict[tuple[str, str, str, str, str], int], threshold: int
) -> None:
    counted = Counted()
    for (council, month, event_type, agency, band), n in raw.items():
        counted.cells[Cell(council, council + "x", month, event_type, agency, band)] += n
    tables = linked_tables(
        counted, ("2026-01", "2026-02", "2026-03"), Control(threshold, 1, "council")
    )
    for table in tables.values():
        assert not [v for v in _shown_values(table) if 0 < v < threshold]
        assert all(table.counts[k] > 0 for k in table.hidden)  # every hidden cell can move
    assert recoverable(tables) == set()
    grand = {t.shown(TOTAL, TOTAL) for t in tables.values()}
    assert len(grand) == 1  # the grand total is hidden in every table or shown in all
