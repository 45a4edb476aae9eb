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
from hub.dsa import Outcome


@dataclass(slots=True)
class Tally:
    """Counts of re-derived decisions.

    Entries are counted raw while the replay goes (one counter update per entry and per
    event decision, keyed by what the summary needs of it) and summed in :meth:`to_json`.
    """

    entries: Counter[tuple[str, str, bool]] = field(default_factory=Counter)
    """(outcome, partnership, whether a retraction) per entry."""
    decisions: Counter[tuple[str, str, str | None, int | None, tuple[str, ...]]] = field(
        default_factory=Counter
    )
    """(agency, outcome, agreement, version, reasons) per event decision."""

    def add(self, record: DecisionRecord | Answer, agencies: tuple[str, ...]) -> None:
        """Count one entry; ``agencies`` are its events' publishers, in the entry's order."""
        outcome = record.outcome
        self.entries[
            outcome, record.recipient, outcome == "deny" and record.alert_id is not None
        ] += 1
        decisions = record.outcomes if isinstance(record, Answer) else record.decisions
        counted = self.decisions
        for agency, decision in zip(agencies, decisions, strict=True):
            counted[
                agency,
                decision.outcome.value,
                decision.agreement_id,
                decision.agreement_version,
                decision.reasons,
            ] += 1

    def to_json(self) -> dict[str, Any]:
        """Plain, sorted JSON data."""
        by_outcome: Counter[str] = Counter()
        by_partnership: defaultdict[str, Counter[str]] = defaultdict(Counter)
        retractions = 0
        for (outcome, partnership, retraction), n in self.entries.items():
            by_outcome[outcome] += n
            by_partnership[partnership][outcome] += n
            retractions += n if retraction else 0
        by_agency: defaultdict[str, Counter[str]] = defaultdict(Counter)
        by_agreement: Counter[str] = Counter()
        by_reason: Counter[str] = Counter()
        for (agency, outcome, agreement, version, reasons), n in self.decisions.items():
            by_agency[agency][outcome] += n
            if outcome == Outcome.PERMIT.value:
                by_agreement[f"{agreement}@{version}"] += n
            for reason in reasons:
                by_reason[str(reason)] += n
        return {
            "by_outcome": dict(sorted(by_outcome.items())),
            "by_partnership": {
                k: dict(sorted(v.items())) for k, v in sorted(by_partnership.items())
            },
            "by_agency": {k: dict(sorted(v.items())) for k, v in sorted(by_agency.items())},
            "by_agreement": dict(sorted(by_agreement.items())),
            "by_denial_reason": dict(sorted(by_reason.items())),
            "retractions": retractions,
        }
