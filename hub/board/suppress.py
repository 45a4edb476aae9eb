"""Small-number suppression: how a count may appear on the board.

The rule, as in official statistics: a count from 1 to 4 is never shown; it appears as
``<5``. Zero is shown as ``0``: it describes no one. Counts of 5 and more are exact.

Totals must not give back what a cell hides. A total is computed **only from what the cells
show**: exact when none of its cells is suppressed; otherwise the range the shown cells allow
(each ``<5`` standing for 1 to 4): its two bounds joined by an en dash, or ``<9`` when that
range starts below 5. A reader can work that range out from the cells alone, so a total
carries no information the cells do not, and no arithmetic on totals and cells can recover a
suppressed count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

THRESHOLD = 5
"""The smallest count shown exactly (besides zero)."""

SUPPRESSED = f"<{THRESHOLD}"


@dataclass(frozen=True, slots=True)
class Figure:
    """A count as the board may show it: its text, and the bounds a reader can infer.

    ``value`` is the exact count when it may be shown, else None. ``low`` and ``high`` are
    what the shown text tells a reader: equal for an exact figure.
    """

    text: str
    low: int
    high: int

    @property
    def value(self) -> int | None:
        """The exact count, or None when it is suppressed or a range."""
        return self.low if self.low == self.high else None

    @property
    def suppressed(self) -> bool:
        """Whether the figure hides its exact value."""
        return self.low != self.high

    def to_json(self) -> dict[str, Any]:
        """``{"text": ..., "value": n | null}``: never the hidden count."""
        return {"text": self.text, "value": self.value}


ZERO = Figure("0", 0, 0)


def cell(count: int) -> Figure:
    """One count under the rule: 0, ``<5`` for 1 to 4, or the exact count."""
    if count < 0:
        raise ValueError("a count cannot be negative")
    if count == 0:
        return ZERO
    if count < THRESHOLD:
        return Figure(SUPPRESSED, 1, THRESHOLD - 1)
    return Figure(str(count), count, count)


def total(figures: Iterable[Figure]) -> Figure:
    """The total of shown figures, from what they show alone (exact, or a range)."""
    low = high = 0
    for figure in figures:
        low += figure.low
        high += figure.high
    if low == high:
        return Figure(str(low), low, low)
    if low < THRESHOLD:
        return Figure(f"<{high + 1}", low, high)
    return Figure(f"{low}\u2013{high}", low, high)
