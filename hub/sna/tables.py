"""The tables of a release: counts by area and month, and the period's mix by agency, event
type and age band.

The tables count the same events, so they share their grand total: it is hidden in all of
them or in none (:func:`linked_tables` protects each table, and when one has to hide the
grand total, protects the others again with it forced hidden). They share nothing else:
the mix tables are over the whole period, not by month. Were they by month too, they would
share every month's total with the area table, and a hidden month total would link the
tables' suppression patterns in ways per-table protection cannot see. With a single shared
figure it can: any move of hidden cells in one table that changes the grand total is matched
by a move through the grand total in each other table (every hidden cell lies on a cycle).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hub.sna.count import Cell, Counted
from hub.sna.disclosure import TOTAL, Key, Protected, protect

DIMENSIONS: dict[str, Callable[[Cell, str], str]] = {
    "area": lambda cell, by: cell.lsoa if by == "lsoa" else cell.council,
    "agency": lambda cell, _by: cell.agency,
    "event_type": lambda cell, _by: cell.event_type,
    "age_band": lambda cell, _by: cell.age_band,
}
"""Each table's row, read from a counted cell (``by``: the area level asked for)."""


@dataclass(frozen=True, slots=True)
class Control:
    """The disclosure control a release applies: threshold, rounding base, area level."""

    threshold: int = 5
    rounding: int = 1
    by: str = "council"


def table_counts(counted: Counted, dimension: str, by: str) -> dict[Key, int]:
    """One table's true counts by (row, month)."""
    row_of = DIMENSIONS[dimension]
    cells: Counter[Key] = Counter()
    for cell, n in counted.cells.items():
        cells[(row_of(cell, by), cell.month if dimension == "area" else PERIOD)] += n
    return dict(cells)


PERIOD = "period"
"""The single column of the mix tables: the whole period."""
GRAND = frozenset({(TOTAL, TOTAL), (TOTAL, PERIOD)})
"""The cells holding the grand total (a one-column table holds it twice)."""


def linked_tables(
    counted: Counted, months: tuple[str, ...], control: Control
) -> dict[str, Protected]:
    """Every table of the release, protected together (see the module docstring)."""
    counts = {d: table_counts(counted, d, control.by) for d in DIMENSIONS}
    rows = {d: tuple(sorted({r for r, _ in counts[d]})) for d in DIMENSIONS}
    columns = {d: months if d == "area" else (PERIOD,) for d in DIMENSIONS}
    forced: frozenset[Key] = frozenset()
    while True:
        tables = {
            d: protect(
                counts[d],
                rows[d],
                columns[d],
                threshold=control.threshold,
                base=control.rounding,
                forced=forced,
            )
            for d in DIMENSIONS
        }
        if not any(t.hidden & GRAND for t in tables.values()) or forced:
            return tables
        forced = GRAND


def table_json(table: Protected) -> dict[str, object]:
    """A protected table as released: rows, months, figures (null: suppressed) and totals."""
    return {
        "rows": list(table.rows),
        "columns": list(table.columns),
        "cells": [[table.shown(r, c) for c in table.columns] for r in table.rows],
        "row_totals": [table.shown(r, TOTAL) for r in table.rows],
        "column_totals": [table.shown(TOTAL, c) for c in table.columns],
        "total": table.shown(TOTAL, TOTAL),
        "suppressed": len(table.hidden),
    }


def shown_figures(tables: Mapping[str, Protected]) -> dict[str, dict[str, object]]:
    """Every table as released (no hidden count anywhere)."""
    return {name: table_json(t) for name, t in sorted(tables.items())}
