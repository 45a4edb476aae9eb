"""Ledger records for board tests: real DecisionRecords, decided under the shipped agreements."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hub.dispatch import DecisionRecord
from hub.dsa import AgreementBook, Evaluator
from tests import shipped
from tests.unit.dsa.builders import READING, event

REGISTRY = shipped.registry()
OWNERS = {t: a.id for a in REGISTRY.agencies for t in a.event_types}
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
EVALUATOR = Evaluator(AgreementBook.from_agreements(shipped.agreements()), REGISTRY)

#: (agency, event type) pairs whose events the shipped agreements permit to Reading.
POLICE = ("police", "police.violent_incident")
EDUCATION = ("education", "education.suspension")


def entry(
    n: int,
    recipient: str,
    events: list[tuple[str, str, str]],
    *,
    day: int = 0,
    rule: str = "repeated-violence",
    severity: str | None = "medium",
    flag: str | None = None,
    adults: frozenset[str] = frozenset(),
) -> bytes:
    """Entry ``n``: the evaluator's decisions on ``events`` (event id, agency, type) for one
    recipient, a permit when every event is permitted (as dispatch records it). Events named in
    ``adults`` are about a 30-year-old, outside the agreements' age scope."""
    at = START + timedelta(days=day, minutes=n)
    decisions = tuple(
        EVALUATOR.decide(
            event(
                event_id=eid,
                agency_id=agency,
                event_type=etype,
                council=READING,
                age=30 if eid in adults else 15,
                fields={},
            ),
            recipient,
            at,
        )
        for eid, agency, etype in events
    )
    outcome = "permit" if all(d.permitted for d in decisions) else "deny"
    record = DecisionRecord(
        decision_id=f"d{n:031d}",
        decided_at=at,
        recipient=recipient,
        flag_id=flag or f"f{n:031d}",
        rule_id=rule,
        rule_version=1,
        policy_sequence=1,
        outcome=outcome,
        events=tuple(e[0] for e in events),
        inputs_digest=f"{n:032x}",
        decisions=decisions,
        alert_id=f"a{n:031d}" if outcome == "permit" else None,
    )
    data = record.model_dump(mode="json")
    if severity is not None:
        data["severity"] = severity
    return json.dumps(data).encode()
