"""Alerts per flag, per partnership: how noisy a partnership's stream is for its duty team.

A flag is counted once per partnership (by the flag id that partnership sees); each alert by
kind. ``per_flag`` is alerts divided by flags: 1 means every flag was raised and never
touched again; every ``flag.updated`` adds to it. ``hub demo`` prints these rows and
``bench.bench_domain`` prints the same figures (``README.md`` explains them).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hub.alerts.body import AlertKind

KINDS = (AlertKind.RAISED, AlertKind.UPDATED, AlertKind.RETRACTED, AlertKind.EXPIRED)


@dataclass(frozen=True, slots=True)
class FlagRow:
    """One partnership's figures."""

    partnership: str
    flags: int
    kinds: tuple[int, int, int, int]
    """Raised, updated, retracted, expired."""

    @property
    def alerts(self) -> int:
        """Every alert counted."""
        return sum(self.kinds)

    @property
    def per_flag(self) -> float:
        """Alerts per flag (0 with no flag)."""
        return self.alerts / self.flags if self.flags else 0.0

    def line(self) -> str:
        """The row as the demo prints it."""
        raised, updated, retracted, expired = self.kinds
        return (
            f"  {self.partnership:22} {self.flags:6} {raised:7} {updated:8} {retracted:10}"
            f" {expired:8} {self.per_flag:10.2f}"
        )


HEADER = (
    f"  {'partnership':22} {'flags':>6} {'raised':>7} {'updated':>8} {'retracted':>10}"
    f" {'expired':>8} {'alerts/flag':>10}"
)


@dataclass
class PerFlag:
    """Counts alerts by partnership, flag and kind."""

    flags: dict[str, set[str]] = field(default_factory=dict)
    kinds: dict[str, Counter[AlertKind]] = field(default_factory=dict)

    def add(self, partnership: str, flag_id: str, kind: AlertKind) -> None:
        """Count one alert."""
        self.flags.setdefault(partnership, set()).add(flag_id)
        self.kinds.setdefault(partnership, Counter())[kind] += 1

    def rows(self) -> list[FlagRow]:
        """One row per partnership that received an alert, by partnership id."""
        rows = []
        for p in sorted(self.flags):
            raised, updated, retracted, expired = (self.kinds[p][k] for k in KINDS)
            rows.append(FlagRow(p, len(self.flags[p]), (raised, updated, retracted, expired)))
        return rows

    def lines(self) -> list[str]:
        """The table: a header, then one line per partnership."""
        return [HEADER, *(row.line() for row in self.rows())]
