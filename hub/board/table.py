"""A two-way table of suppressed counts with row, column and grand totals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from hub.board.suppress import ZERO, Figure, cell, total


@dataclass(frozen=True, slots=True)
class Table:
    """Counts by (row, column), each shown under the suppression rule, with totals.

    Only rows and columns with at least one non-zero count appear. Totals are computed from
    the shown cells (:func:`hub.board.suppress.total`), never from the raw counts.
    """

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: dict[tuple[str, str], Figure]

    @classmethod
    def of(cls, counts: Counter[tuple[str, str]]) -> Table:
        """The table of non-negative ``counts`` keyed by (row, column)."""
        present = {k: n for k, n in counts.items() if n}
        rows = tuple(sorted({r for r, _ in present}))
        columns = tuple(sorted({c for _, c in present}))
        return cls(rows, columns, {k: cell(n) for k, n in present.items()})

    def at(self, row: str, column: str) -> Figure:
        """The figure in one cell (0 where nothing was counted)."""
        return self.cells.get((row, column), ZERO)

    def row_total(self, row: str) -> Figure:
        """The total of one row, from its shown cells."""
        return total(self.at(row, c) for c in self.columns)

    def column_total(self, column: str) -> Figure:
        """The total of one column, from its shown cells."""
        return total(self.at(r, column) for r in self.rows)

    @property
    def grand_total(self) -> Figure:
        """The total of every shown cell."""
        return total(self.cells.values())

    def to_json(self) -> dict[str, Any]:
        """Rows, columns, shown cells and totals (texts and exact values only)."""
        return {
            "rows": list(self.rows),
            "columns": list(self.columns),
            "cells": [[self.at(r, c).to_json() for c in self.columns] for r in self.rows],
            "row_totals": [self.row_total(r).to_json() for r in self.rows],
            "column_totals": [self.column_total(c).to_json() for c in self.columns],
            "total": self.grand_total.to_json(),
        }
