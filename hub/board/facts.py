"""What the board counts, read from the decision ledger: disclosures, denials and flags.

The ledger is folded as the audit ledger folds it: records in topic order, the first record
of a decision id is the entry and later repeats are skipped. From each entry:

- a **disclosure** is an event permitted to the recipient in a ``permit`` entry (an alert
  went out carrying it). Its agency is the publisher of the event type the permitting clause
  names (``data_items[<type>]``), from the registry;
- a **denial** is an event refused to the recipient in any entry, under the first of its
  reasons in the evaluator's order;
- a **flag** is a flag id, with its rule and severity: the severity the entry records if it
  has one, else the one its rule gives (:mod:`hub.board.severity`).

Facts keep the event or flag id only so that aggregates can count each one once; no id ever
leaves :mod:`hub.board`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from hub.board.severity import event_type_of, severity_of
from hub.dispatch import DecisionRecord
from hub.dsa import Decision
from hub.rules import Rule

UNKNOWN_AGENCY = "unknown"


@dataclass(frozen=True, slots=True)
class Disclosed:
    """One event disclosed to one partnership."""

    at: datetime
    agency: str
    partnership: str
    event_id: str


@dataclass(frozen=True, slots=True)
class Denied:
    """One event refused to one partnership, under its first reason."""

    at: datetime
    reason: str
    partnership: str
    event_id: str


@dataclass(frozen=True, slots=True)
class Flagged:
    """One flag's decision entry: its rule and severity."""

    at: datetime
    rule_id: str
    severity: str
    flag_id: str


@dataclass(slots=True)
class LedgerFacts:
    """Every fact of the ledger, and how many records could not be read."""

    entries: list[tuple[datetime, str]] = field(default_factory=list)
    disclosed: list[Disclosed] = field(default_factory=list)
    denied: list[Denied] = field(default_factory=list)
    flagged: list[Flagged] = field(default_factory=list)
    unreadable: int = 0


def read_ledger(
    values: Iterable[bytes], owners: Mapping[str, str], rules: Mapping[str, Rule] | None = None
) -> LedgerFacts:
    """Fold decisions-topic values; ``owners`` maps each event type to its agency, ``rules``
    each rule id to its current version (for severities the entries do not record)."""
    facts = LedgerFacts()
    seen: set[str] = set()
    for value in values:
        try:
            raw = json.loads(value)
            if isinstance(raw, dict) and raw.get("kind") == "sna.release":
                continue  # an aggregate release, not a disclosure to a partnership
            record = DecisionRecord.model_validate(raw)
        except (UnicodeDecodeError, ValueError, ValidationError):
            facts.unreadable += 1
            continue
        if record.decision_id in seen:
            continue
        seen.add(record.decision_id)
        severity = raw.get("severity") or severity_of(record, rules or {}, owners)
        _fold(facts, record, str(severity), owners)
    return facts


def _fold(
    facts: LedgerFacts, record: DecisionRecord, severity: str, owners: Mapping[str, str]
) -> None:
    at = record.decided_at
    facts.entries.append((at, record.outcome))
    facts.flagged.append(Flagged(at, record.rule_id, severity, record.flag_id))
    for decision in record.decisions:
        if decision.permitted:
            if record.outcome == "permit":
                agency = agency_of(decision, owners)
                facts.disclosed.append(Disclosed(at, agency, record.recipient, decision.event_id))
        elif decision.reasons:
            reason = str(decision.reasons[0])
            facts.denied.append(Denied(at, reason, record.recipient, decision.event_id))


def agency_of(decision: Decision, owners: Mapping[str, str]) -> str:
    """The agency that published a permitted event: owner of the type its clause covers."""
    ref = f"{decision.agreement_id}@{decision.agreement_version}"
    for clause in decision.clauses:
        event_type = event_type_of(clause.clause)
        if clause.agreement == ref and event_type is not None:
            return owners.get(event_type, UNKNOWN_AGENCY)
    return UNKNOWN_AGENCY
