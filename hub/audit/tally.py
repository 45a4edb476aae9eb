"""A replay's summary: decisions by outcome, partnership, agency, agreement and denial reason.

Entries (one per flag, partnership and moment) are counted by outcome and by partnership.
The event decisions inside them are counted by the agency that published the event, by the
agreement version that permitted it, and by each reason it was denied for.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from hub.audit.answer import Answer
from hub.dispatch import DecisionRecord


@dataclass(slots=True)
class Tally:
    """Counts of re-derived decisions."""

    by_outcome: Counter[str] = field(default_factory=Counter)
    by_partnership: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    by_agency: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_agreement: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)
    retractions: int = 0

    def add(self, record: DecisionRecord | Answer, agencies: tuple[str, ...]) -> None:
        """Count one entry; ``agencies`` are its events' publishers, in the entry's order."""
        self.by_outcome[record.outcome] += 1
        self.by_partnership[record.recipient][record.outcome] += 1
        if record.outcome == "deny" and record.alert_id is not None:
            self.retractions += 1
        for agency, decision in zip(agencies, record.decisions, strict=True):
            self.by_agency[agency][str(decision.outcome)] += 1
            if decision.permitted:
                self.by_agreement[f"{decision.agreement_id}@{decision.agreement_version}"] += 1
            for reason in decision.reasons:
                self.by_reason[str(reason)] += 1

    def to_json(self) -> dict[str, Any]:
        """Plain, sorted JSON data."""
        return {
            "by_outcome": dict(sorted(self.by_outcome.items())),
            "by_partnership": {
                k: dict(sorted(v.items())) for k, v in sorted(self.by_partnership.items())
            },
            "by_agency": {k: dict(sorted(v.items())) for k, v in sorted(self.by_agency.items())},
            "by_agreement": dict(sorted(self.by_agreement.items())),
            "by_denial_reason": dict(sorted(self.by_reason.items())),
            "retractions": self.retractions,
        }
