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
from hub.dsa import Decision


@dataclass(slots=True)
class Tally:
    """Counts of re-derived decisions.

    A replay's own answers are counted raw (one counter update per entry, its decisions by
    identity: they are the agreements engine's remembered ones, few and shared by many
    entries) and summed in :meth:`to_json`; a validated record's decisions are its own, and
    are counted one by one.
    """

    answers: Counter[tuple[str, str, bool, tuple[str, ...], tuple[int, ...]]] = field(
        default_factory=Counter
    )
    """(outcome, partnership, whether a retraction, agencies, decisions' ids) per answer."""
    known: dict[tuple[int, ...], tuple[Decision, ...]] = field(default_factory=dict)
    """The answers' decisions by their identities (held, so that an identity stays theirs)."""
    records: Counter[tuple[str, str, bool]] = field(default_factory=Counter)
    """(outcome, partnership, whether a retraction) per validated record."""
    decisions: Counter[_Counted] = field(default_factory=Counter)
    """What the summary counts of each event decision of a validated record."""

    def add(self, record: DecisionRecord | Answer, agencies: tuple[str, ...]) -> None:
        """Count one entry; ``agencies`` are its events' publishers, in the entry's order."""
        outcome = record.outcome
        retraction = outcome == "deny" and record.alert_id is not None
        if isinstance(record, Answer):
            outcomes = record.outcomes
            decided = (outcomes, tuple(map(id, outcomes)))
            self.count((outcome, record.recipient, retraction), agencies, decided)
            return
        self.records[outcome, record.recipient, retraction] += 1
        for agency, decision in zip(agencies, record.decisions, strict=True):
            self.decisions[_counted(agency, decision)] += 1

    def count(
        self,
        entry: tuple[str, str, bool],
        agencies: tuple[str, ...],
        decided: tuple[tuple[Decision, ...], tuple[int, ...]],
    ) -> None:
        """Count one re-derived entry: (outcome, partnership, whether a retraction), its
        events' publishers and the agreements engine's decisions on them, in order, with
        their identities."""
        outcomes, ids = decided
        self.known[ids] = outcomes
        self.answers[(*entry, agencies, ids)] += 1

    def to_json(self) -> dict[str, Any]:
        """Plain, sorted JSON data."""
        return _summary(*self.counted())

    def counted(self) -> tuple[Counter[tuple[str, str, bool]], Counter[_Counted]]:
        """The entries and event decisions counted, as plain values (another process's
        tally is added with :meth:`merge`)."""
        entries = Counter(self.records)
        decisions = Counter(self.decisions)
        for (outcome, partnership, retraction, agencies, ids), n in self.answers.items():
            entries[outcome, partnership, retraction] += n
            for agency, decision in zip(agencies, self.known[ids], strict=True):
                decisions[_counted(agency, decision)] += n
        return entries, decisions

    def merge(self, counted: tuple[Counter[tuple[str, str, bool]], Counter[_Counted]]) -> None:
        """Add another tally's :meth:`counted` values (a shard of a sharded replay)."""
        entries, decisions = counted
        self.records.update(entries)
        self.decisions.update(decisions)


_Counted = tuple[str, str, str | None, tuple[str, ...]]
"""An event decision as the summary counts it: agency, outcome, agreement if permitted
(``id@version``), denial reasons."""


def _counted(agency: str, decision: Decision) -> _Counted:
    agreement = (
        f"{decision.agreement_id}@{decision.agreement_version}" if decision.permitted else None
    )
    return agency, str(decision.outcome), agreement, tuple(str(r) for r in decision.reasons)


def _summary(
    entries: Counter[tuple[str, str, bool]], decisions: Counter[_Counted]
) -> dict[str, Any]:
    by_outcome: Counter[str] = Counter()
    by_partnership: defaultdict[str, Counter[str]] = defaultdict(Counter)
    retractions = 0
    for (outcome, partnership, retraction), n in entries.items():
        by_outcome[outcome] += n
        by_partnership[partnership][outcome] += n
        retractions += n if retraction else 0
    by_agency: defaultdict[str, Counter[str]] = defaultdict(Counter)
    by_agreement: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    for (agency, outcome, agreement, reasons), n in decisions.items():
        by_agency[agency][outcome] += n
        if agreement is not None:
            by_agreement[agreement] += n
        for reason in reasons:
            by_reason[reason] += n
    return {
        "by_outcome": dict(sorted(by_outcome.items())),
        "by_partnership": {k: dict(sorted(v.items())) for k, v in sorted(by_partnership.items())},
        "by_agency": {k: dict(sorted(v.items())) for k, v in sorted(by_agency.items())},
        "by_agreement": dict(sorted(by_agreement.items())),
        "by_denial_reason": dict(sorted(by_reason.items())),
        "retractions": retractions,
    }
