"""The board: every panel's aggregates for one period, suppressed, ready to draw.

:func:`build_board` is the only place raw counts exist; what it returns holds
:class:`~hub.board.suppress.Figure` values only (shown text, and the exact value where it may
be shown), agreement rows and the verification result. No event id, flag id, token or
pseudonym is in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hub.board.agreements import AgreementRow
from hub.board.facts import LedgerFacts
from hub.board.period import Period
from hub.board.rejected import QuarantineFacts
from hub.board.suppress import Figure, cell
from hub.board.table import Table
from hub.board.verification import Verification


@dataclass(frozen=True, slots=True)
class Sources:
    """What the board is drawn from (everything already read and parsed)."""

    ledger: LedgerFacts
    quarantine: QuarantineFacts | None
    agreements: list[AgreementRow]
    verification: Verification


@dataclass(frozen=True, slots=True)
class Board:
    """Every panel for one period."""

    period: Period
    generated_at: datetime
    entries: Figure
    flows: Table
    denials: Table
    flags: Table
    flags_by_day: Table
    quarantine: Table | None
    agreements: list[AgreementRow]
    verification: Verification
    unreadable: int

    @property
    def totals(self) -> dict[str, Figure]:
        """The headline figures, each the grand total of its panel."""
        found = {
            "ledger entries": self.entries,
            "disclosures": self.flows.grand_total,
            "denials": self.denials.grand_total,
            "flags": self.flags.grand_total,
        }
        if self.quarantine is not None:
            found["quarantined inputs"] = self.quarantine.grand_total
        return found

    def to_json(self) -> dict[str, Any]:
        """The board as plain JSON data (``hub audit report --json``, ``/board.json``)."""
        return {
            "period": {
                "from": _iso(self.period.start),
                "to": _iso(self.period.end),
                "label": self.period.label,
            },
            "generated_at": self.generated_at.isoformat(),
            "suppression": "counts 1-4 are shown as <5; totals are computed from shown cells",
            "totals": {k: v.to_json() for k, v in self.totals.items()},
            "flows": self.flows.to_json(),
            "denials": self.denials.to_json(),
            "flags": self.flags.to_json(),
            "flags_by_day": self.flags_by_day.to_json(),
            "quarantine": self.quarantine.to_json() if self.quarantine is not None else None,
            "agreements": [a.to_json() for a in self.agreements],
            "verification": self.verification.to_json(),
            "unreadable_records": self.unreadable,
        }


def build_board(sources: Sources, period: Period, now: datetime) -> Board:
    """Aggregate every panel over ``period``; each count is distinct and then suppressed."""
    ledger = sources.ledger
    flows = _distinct(
        ((d.agency, d.partnership), d.event_id) for d in ledger.disclosed if period.contains(d.at)
    )
    denials = _distinct(
        ((d.reason, "count"), f"{d.event_id}|{d.partnership}")
        for d in ledger.denied
        if period.contains(d.at)
    )
    flags, by_day = _flags(ledger, period)
    quarantine = sources.quarantine
    rejected = (
        None
        if quarantine is None
        else Table.of(
            Counter((r.agency, r.reason) for r in quarantine.rejected if period.contains(r.at))
        )
    )
    entries = sum(1 for at, _ in ledger.entries if period.contains(at))
    return Board(
        period=period,
        generated_at=now,
        entries=cell(entries),
        flows=Table.of(flows),
        denials=Table.of(denials),
        flags=flags,
        flags_by_day=by_day,
        quarantine=rejected,
        agreements=sources.agreements,
        verification=sources.verification,
        unreadable=ledger.unreadable + (quarantine.unreadable if quarantine else 0),
    )


def _distinct(pairs: Iterable[tuple[tuple[str, str], str]]) -> Counter[tuple[str, str]]:
    """How many distinct items fall in each (row, column)."""
    seen: dict[tuple[str, str], set[str]] = {}
    for key, item in pairs:
        seen.setdefault(key, set()).add(item)
    return Counter({k: len(v) for k, v in seen.items()})


def _flags(ledger: LedgerFacts, period: Period) -> tuple[Table, Table]:
    """Distinct flags by (rule, severity), and by day of first entry and rule/severity.

    A flag counts once: on the day of its first entry in the period, under the highest
    severity its entries in the period record.
    """
    first: dict[str, date] = {}
    rule: dict[str, str] = {}
    severity: dict[str, str] = {}
    for f in sorted((f for f in ledger.flagged if period.contains(f.at)), key=lambda f: f.at):
        first.setdefault(f.flag_id, f.at.date())
        rule[f.flag_id] = f.rule_id
        severity[f.flag_id] = max(severity.get(f.flag_id, f.severity), f.severity, key=_rank)
    by_kind = Counter((rule[f], severity[f]) for f in first)
    by_day = Counter((first[f].isoformat(), f"{rule[f]} ({severity[f]})") for f in first)
    return Table.of(by_kind), Table.of(by_day)


_SEVERITY = ("unrecorded", "low", "medium", "high")


def _rank(severity: str) -> int:
    return _SEVERITY.index(severity) if severity in _SEVERITY else 0


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
