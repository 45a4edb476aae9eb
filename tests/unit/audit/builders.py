"""Decision records and ledgers for audit tests: real DecisionRecords, fixed keys."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.audit import Ledger, TreeHead
from hub.crypto import SigningKey
from hub.crypto.record import Kind, Place
from hub.crypto.trust import seal_record
from hub.dispatch import DecisionRecord
from hub.dsa import Decision, Outcome, Purpose

HUB = SigningKey.from_raw(bytes(range(32)))
OTHER_HUB = SigningKey.from_raw(bytes(range(1, 33)))
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
RECIPIENTS = ("reading", "slough", "oxfordshire")
DECISIONS_TOPIC = "vru.audit.decisions"


def decision_record(n: int, *, outcome: str = "permit") -> DecisionRecord:
    """The ``n``-th synthetic decision: ids and digests only, like the correlate agent's."""
    at = START + timedelta(minutes=n)
    recipient = RECIPIENTS[n % len(RECIPIENTS)]
    event_id = f"ev-{n:06d}"
    decision = Decision(
        outcome=Outcome.PERMIT if outcome == "permit" else Outcome.DENY,
        event_id=event_id,
        recipient=recipient,
        purpose=Purpose.SERIOUS_VIOLENCE_PREVENTION,
        at=at,
        agreement_id="tv-police-svd" if outcome == "permit" else None,
        agreement_version=2 if outcome == "permit" else None,
        fields=("event_id", "occurred_at") if outcome == "permit" else (),
    )
    return DecisionRecord(
        decision_id=f"d{n:031d}",
        decided_at=at,
        recipient=recipient,
        flag_id=f"f{n // 3:031d}",
        rule_id="repeated-violence",
        rule_version=1,
        policy_sequence=3,
        outcome=outcome,
        events=(event_id,),
        inputs_digest=f"{n:032x}",
        decisions=(decision,),
    )


def records(count: int) -> list[bytes]:
    """``count`` decision records as the decisions topic holds them."""
    return [
        decision_record(n, outcome="permit" if n % 4 else "deny").model_dump_json().encode()
        for n in range(count)
    ]


def publish(values: list[bytes], sizes: list[int], key: SigningKey = HUB) -> list[bytes]:
    """Heads topic values for a ledger of ``values``, with a head at each of ``sizes``."""
    ledger, heads, last = Ledger(), [], None
    fed = 0
    for n, size in enumerate(sizes):
        while len(ledger) < size:
            ledger.append(values[fed])
            fed += 1
        new: list[TreeHead] = ledger.heads_since(last, key, START + timedelta(hours=n))
        heads += [h.to_bytes() for h in new]
        last = new[-1] if new else last
    return heads


def signed(
    entries: list[bytes], key: SigningKey = HUB, topic: str = DECISIONS_TOPIC
) -> list[bytes]:
    """Decisions-topic records as the correlate agent writes them: one signed record each."""
    place = Place(topic, 0)
    return [seal_record(Kind.DECISIONS, START, (entry,), place, key) for entry in entries]


def write_export(folder: Path, decisions: list[bytes], heads: list[bytes]) -> None:
    """An audit export (``hub.cli.audit_topics``) of these decisions-topic and heads values."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, values in (("decisions", decisions), ("heads", heads)):
        lines = (
            json.dumps({"offset": n, "value_b64": base64.b64encode(v).decode()}) + "\n"
            for n, v in enumerate(values)
        )
        (folder / f"{name}.jsonl").write_text("".join(lines), encoding="utf-8")
    topics = {
        "decisions": DECISIONS_TOPIC,
        "agreements": "vru.agreements",
        "accepted": "vru.accepted",
    }
    (folder / "export.json").write_text(json.dumps({"topics": topics}), encoding="utf-8")
