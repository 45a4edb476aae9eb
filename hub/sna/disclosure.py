"""Disclosure control for a released table: primary and secondary suppression, and rounding.

A table is counts by row (an area, an agency, ...) and column (a month), released with its
row totals (the period), column totals and grand total, all exact unless suppressed. Seen
whole, that is an extended table of (rows + 1) x (columns + 1) cells in which every row and
every column sums to its total cell. The rules:

- **primary**: a count from 1 to ``threshold - 1`` is suppressed, totals included; zero is
  shown (it describes no one);
- **secondary**: a suppressed cell must never be recoverable from what is shown. Take the
  bipartite graph whose vertices are the extended table's rows and columns and whose edges
  are the suppressed cells. The published equations leave a suppressed cell undetermined
  exactly when it lies on a cycle of that graph (a cycle is a direction in which the hidden
  cells can move, +1 and -1 alternately, without changing any shown figure). So every
  suppressed cell that is a bridge gets the cheapest rectangle of **non-zero** cells through
  it suppressed too. Because every suppressed cell is then at least 1 and on a cycle, the
  table with that cell one higher (or one lower) shows exactly the same figures: no reader,
  by any arithmetic on rows, columns and period totals, can pin a suppressed count down.
- **rounding** (when the agreement asks for it): every shown figure is rounded to the nearest
  multiple of ``base`` independently. It is applied after suppression, so it only adds doubt.

A non-zero rectangle always exists: a non-zero inner cell, its row and column totals and the
grand total are all non-zero. Suppressing a total is the last resort (it costs most: its value
is the largest), so inner complements are preferred.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

THRESHOLD = 5
"""The smallest count shown exactly (besides zero), as on the board."""
TOTAL = "__total__"
"""The label of the total row and the total column in an extended table."""

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Protected:
    """A table after disclosure control: every cell of the extended table and what shows.

    ``counts`` holds the true counts (never released); ``hidden`` the suppressed cells;
    ``shown(row, column)`` the released figure, None when suppressed.
    """

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    counts: Mapping[Key, int] = field(repr=False)
    hidden: frozenset[Key]
    base: int = 1

    def shown(self, row: str, column: str) -> int | None:
        """The released figure of a cell (rounded to ``base``), or None when suppressed."""
        if (row, column) in self.hidden:
            return None
        return rounded(self.counts.get((row, column), 0), self.base)

    @property
    def primary(self) -> int:
        """How many cells were suppressed as small counts (not as complements)."""
        return sum(1 for k in self.hidden if 0 < self.counts.get(k, 0) < THRESHOLD)


def rounded(count: int, base: int) -> int:
    """``count`` to the nearest multiple of ``base`` (halves up); exact when base is 1."""
    return count if base <= 1 else ((count + base // 2) // base) * base


def extend(
    cells: Mapping[Key, int], rows: tuple[str, ...], columns: tuple[str, ...]
) -> dict[Key, int]:
    """The extended table: the cells plus row, column and grand totals (true counts)."""
    table: dict[Key, int] = {}
    for row in rows:
        for column in columns:
            count = cells.get((row, column), 0)
            if count < 0:
                raise ValueError("a count cannot be negative")
            table[(row, column)] = count
    for row in rows:
        table[(row, TOTAL)] = sum(table[(row, c)] for c in columns)
    for column in (*columns, TOTAL):
        table[(TOTAL, column)] = sum(table[(r, column)] for r in rows)
    return table


def protect(
    cells: Mapping[Key, int],
    rows: tuple[str, ...],
    columns: tuple[str, ...],
    *,
    threshold: int = THRESHOLD,
    base: int = 1,
    forced: frozenset[Key] = frozenset(),
) -> Protected:
    """Suppress small counts and their complements; ``forced`` cells are hidden whatever
    their count (a total another linked table had to hide)."""
    if threshold < 2:  # noqa: PLR2004  # a count of 1 is the smallest there is to hide
        raise ValueError("a threshold below 2 protects nothing")
    table = extend(cells, rows, columns)
    hidden = {k for k, v in table.items() if 0 < v < threshold}
    hidden |= {k for k in forced if k in table}
    for key in sorted(hidden):
        if _is_bridge(hidden, key):
            hidden |= _cheapest_rectangle(table, hidden, key, (*rows, TOTAL), (*columns, TOTAL))
    if len(columns) == 1:  # a one-column table shows each row once: hidden if either copy is
        (only,) = columns
        twins = {(r, c) for r, _ in hidden for c in (only, TOTAL)}
        hidden |= twins
    return Protected(rows, columns, table, frozenset(hidden), base)


def _is_bridge(hidden: set[Key], edge: Key) -> bool:
    """Whether ``edge`` lies on no cycle: its row cannot reach its column without it."""
    row, column = edge
    by_row: dict[str, list[str]] = {}
    by_column: dict[str, list[str]] = {}
    for r, c in hidden:
        if (r, c) != edge:
            by_row.setdefault(r, []).append(c)
            by_column.setdefault(c, []).append(r)
    seen_rows, seen_columns = {row}, set[str]()
    frontier = [row]
    while frontier:
        reached: list[str] = []
        for r in frontier:
            for c in by_row.get(r, ()):
                if c == column:
                    return False
                if c not in seen_columns:
                    seen_columns.add(c)
                    reached.extend(r2 for r2 in by_column.get(c, ()) if r2 not in seen_rows)
        seen_rows.update(reached)
        frontier = list(dict.fromkeys(reached))
    return True


def _cheapest_rectangle(
    table: Mapping[Key, int],
    hidden: set[Key],
    edge: Key,
    rows: tuple[str, ...],
    columns: tuple[str, ...],
) -> set[Key]:
    """The non-zero rectangle through ``edge`` whose newly hidden cells sum least."""
    row, column = edge
    best: tuple[int, int, set[Key]] | None = None
    for other_row in rows:
        if other_row == row or table[(other_row, column)] == 0:
            continue
        for other_column in columns:
            if other_column == column:
                continue
            corners = {(row, other_column), (other_row, column), (other_row, other_column)}
            if any(table[k] == 0 for k in corners):
                continue
            fresh = corners - hidden
            rank = (sum(table[k] for k in fresh), len(fresh))
            if best is None or rank < best[:2]:
                best = (*rank, corners)
    if best is None:  # impossible for a non-zero edge: its totals form a rectangle
        raise ValueError(f"no non-zero rectangle through {edge}")
    return best[2]
