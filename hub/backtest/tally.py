"""What a backtest counted, and the report made of it with small numbers suppressed.

:class:`Tally` holds exact counts while the run goes (subjects as sets of tokens, which never
leave it); :meth:`Tally.report` turns them into :class:`Report`, where every count is a
:class:`~hub.board.suppress.Figure` and a rate is given only when both its counts are shown
exactly.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from hub.alerts import AlertKind
from hub.board.suppress import THRESHOLD, Figure, cell, total

Key = tuple[str, str, str]
"""(rule id, partnership id, month ``YYYY-MM``)."""

KINDS = tuple(k.value for k in AlertKind)


@dataclass
class Tally:
    """Exact counts of one run, by (rule, partnership, month) and by month."""

    alerts: dict[Key, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    decisions: dict[Key, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    flagged: dict[Key, set[str]] = field(default_factory=lambda: defaultdict(set))
    events: Counter[str] = field(default_factory=Counter)
    """Per month: accepted events."""
    about_subjects: Counter[str] = field(default_factory=Counter)
    """Per month: accepted events about a person."""
    linked: Counter[str] = field(default_factory=Counter)
    """Per month: events about a person the run had already seen."""
    quarantined: Counter[str] = field(default_factory=Counter)
    """By reason: feed messages ingest refused."""
    outside: int = 0
    """Events read whose time lies outside the period (not run)."""

    def alert(self, key: Key, kind: str, token: str) -> None:
        """An alert of ``kind`` that would have gone to the key's partnership."""
        self.alerts[key][kind] += 1
        if kind == AlertKind.RAISED.value:
            self.flagged[key].add(token)

    def add(self, other: Tally) -> None:
        """Add another run's counts (of other subjects: a share of the same run) to these."""
        for mine, theirs in ((self.alerts, other.alerts), (self.decisions, other.decisions)):
            for key, counts in theirs.items():
                mine[key].update(counts)  # a key with only zero counts is kept, as a row
        for key, tokens in other.flagged.items():
            self.flagged[key] |= tokens
        self.events.update(other.events)
        self.about_subjects.update(other.about_subjects)
        self.linked.update(other.linked)
        self.quarantined.update(other.quarantined)
        self.outside += other.outside

    def report(self, meta: dict[str, Any]) -> Report:
        """The counts as the report shows them (suppressed)."""
        keys = sorted(self.alerts.keys() | self.decisions.keys())
        rows = [self._row(key) for key in keys]
        months = [self._month(m) for m in sorted(self.events)]
        quarantined = {r: cell(n) for r, n in sorted(self.quarantined.items())}
        return Report(meta, rows, months, quarantined, cell(self.outside))

    def _row(self, key: Key) -> Row:
        alerts, decisions = self.alerts.get(key, Counter()), self.decisions.get(key, Counter())
        return Row(
            rule=key[0],
            partnership=key[1],
            month=key[2],
            alerts={kind: cell(alerts[kind]) for kind in KINDS},
            subjects=cell(len(self.flagged.get(key, ()))),
            decisions={o: cell(decisions[o]) for o in ("permit", "deny")},
        )

    def _month(self, month: str) -> MonthRow:
        return MonthRow(
            month,
            cell(self.events[month]),
            cell(self.about_subjects[month]),
            cell(self.linked[month]),
        )


def rate(numerator: Figure, denominator: Figure) -> float | None:
    """``numerator / denominator`` when both are exact and the denominator is not zero."""
    if numerator.value is None or denominator.value is None or not denominator.value:
        return None
    return round(numerator.value / denominator.value, 4)


@dataclass(frozen=True, slots=True)
class Row:
    """One rule, partnership and month: alerts by kind, subjects flagged, decisions."""

    rule: str
    partnership: str
    month: str
    alerts: dict[str, Figure]
    subjects: Figure
    decisions: dict[str, Figure]

    @property
    def churn(self) -> float | None:
        """Retractions per flag raised (None when either count is suppressed)."""
        return rate(self.alerts[AlertKind.RETRACTED.value], self.alerts[AlertKind.RAISED.value])

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: figures as ``{"text", "value"}``, never a hidden count."""
        return {
            "rule": self.rule,
            "partnership": self.partnership,
            "month": self.month,
            "alerts": {k: f.to_json() for k, f in self.alerts.items()},
            "subjects": self.subjects.to_json(),
            "decisions": {k: f.to_json() for k, f in self.decisions.items()},
            "churn": self.churn,
        }


@dataclass(frozen=True, slots=True)
class MonthRow:
    """One month of input: events accepted, about a person, joining a known person."""

    month: str
    events: Figure
    about_subjects: Figure
    linked: Figure

    @property
    def link_rate(self) -> float | None:
        """Share of events about a person that joined one already seen."""
        return rate(self.linked, self.about_subjects)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, suppressed."""
        return {
            "month": self.month,
            "events": self.events.to_json(),
            "about_subjects": self.about_subjects.to_json(),
            "linked": self.linked.to_json(),
            "link_rate": self.link_rate,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """A backtest's report: what ran, and every figure suppressed."""

    meta: dict[str, Any]
    rows: list[Row]
    months: list[MonthRow]
    quarantined: dict[str, Figure]
    outside: Figure

    def by_month(self, kind: str) -> dict[str, Figure]:
        """Alerts of one kind per month, totalled from the shown cells only."""
        cells: dict[str, list[Figure]] = defaultdict(list)
        for row in self.rows:
            cells[row.month].append(row.alerts[kind])
        return {m: total(cells.get(m, [])) for m in (r.month for r in self.months)}

    def to_json(self) -> dict[str, Any]:
        """The whole report as JSON-ready data."""
        return {
            **self.meta,
            "suppression": f"counts 1-{THRESHOLD - 1} are shown as <{THRESHOLD};"
            " totals are computed from shown cells; rates only from exact counts",
            "months": [m.to_json() for m in self.months],
            "rows": [r.to_json() for r in self.rows],
            "quarantined": {k: f.to_json() for k, f in self.quarantined.items()},
            "outside_period": self.outside.to_json(),
        }
