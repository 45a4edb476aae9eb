"""Audit ledger speed: appends per second, signed heads, full verification rate.

``.venv/bin/python bench/bench_audit.py [N]`` prints figures and asserts nothing about time.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from hub.audit import Ledger, verify_ledger
from hub.crypto import SigningKey
from hub.dispatch import DecisionRecord
from hub.dsa import Decision, Outcome, Purpose

START = datetime(2026, 11, 24, tzinfo=UTC)
HEAD_EVERY = 1000


def _record(n: int) -> bytes:
    at = START + timedelta(seconds=n)
    decisions = tuple(
        Decision(
            outcome=Outcome.PERMIT,
            event_id=f"ev-{n:07d}-{k}",
            recipient="reading",
            purpose=Purpose.SERIOUS_VIOLENCE_PREVENTION,
            at=at,
            agreement_id="tv-police-svd",
            agreement_version=2,
            fields=("council", "event_id", "event_type", "occurred_at", "weapon"),
        )
        for k in range(3)
    )
    return (
        DecisionRecord(
            decision_id=f"{n:032x}",
            decided_at=at,
            recipient="reading",
            flag_id=f"{n // 4:032x}",
            rule_id="repeated-violence",
            rule_version=1,
            policy_sequence=3,
            outcome="permit",
            events=tuple(d.event_id for d in decisions),
            inputs_digest=f"{n:032x}",
            decisions=decisions,
        )
        .model_dump_json()
        .encode()
    )


def main() -> None:
    """Build a ledger of N decisions (argument, default 100,000) with heads, then verify it."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    key = SigningKey.generate()
    values = [_record(n) for n in range(count)]
    size = sum(len(v) for v in values) / count
    ledger, heads, last = Ledger(), [], None
    started = time.perf_counter()
    for n, value in enumerate(values, start=1):
        ledger.append(value)
        if n % HEAD_EVERY == 0 or n == count:
            new = ledger.heads_since(last, key, START + timedelta(seconds=n))
            heads += [h.to_bytes() for h in new]
            last = new[-1]
    built = time.perf_counter() - started
    started = time.perf_counter()
    verified = verify_ledger(values, heads, [key.verify_key])
    checked = time.perf_counter() - started
    print(f"{count} decision records, {size:.0f} B each, {len(heads)} heads")
    print(f"append + sign heads: {count / built:,.0f} decisions/s")
    rate = verified.entries / checked
    print(f"verify (signatures, chain, every leaf, every inclusion proof): {rate:,.0f} entries/s")


if __name__ == "__main__":
    main()
