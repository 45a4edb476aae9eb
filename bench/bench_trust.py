"""The cost of the hub trusting only what it can verify (issue 14); prints figures, asserts nothing.

Run: ``.venv/bin/python -m bench.bench_trust [--records N]``. One process, one core, per record
(and per item where a record carries several). What each check is for is in
``docs/threat-model.md``; the figures are explained in ``docs/benchmarks.md``.

- accepted and outbox records: HMAC-SHA256 sealed by the writer, verified by the reader;
- decisions records: one Ed25519 signature per record, whatever the number of decisions;
  verified by the ledger agent and by ``hub audit verify``;
- agreement publications and switch markers: Ed25519 by governance, verified by every worker;
- table values: MAC and version on write, MAC on recovery only (reads just unwrap);
- the sequencer's rebuild of a partnership's numbering: one Ed25519 verification per alert.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hub.alerts import Unnumbered, number_alert
from hub.alerts.headers import (
    CE_ID,
    CE_SOURCE,
    CE_SPECVERSION,
    CE_TIME,
    CE_TYPE,
    PARTNERSHIP,
    SPEC_VERSION,
    source_of,
)
from hub.crypto import HmacKey, SigningKey
from hub.crypto.record import Kind, Place
from hub.crypto.tablevalue import Row, seal_value, value_of, verify_value
from hub.crypto.trust import RecordVerifier, TrustedKeys, Window, seal_record
from hub.sequencer import PartnershipLog, verified_meta

EVENT = 600  # bytes: an accepted event
PENDING = 1_500  # bytes: an outbox record's item (an encrypted alert and its headers)
DECISION = 1_400  # bytes: one decision record's JSON
AGREEMENT = 5_000  # bytes: one agreement publication's JSON
STATE = 2_000  # bytes: one subject's stored state
NOW = datetime(2026, 12, 1, tzinfo=UTC)
INTERNAL = HmacKey(os.urandom(32))
HUB = SigningKey.generate()
GOVERNANCE = SigningKey.generate()
KEYS = TrustedKeys(
    internal={INTERNAL.key_id: (INTERNAL, Window())},
    hub={HUB.key_id: (HUB.verify_key, Window())},
    governance={GOVERNANCE.key_id: (GOVERNANCE.verify_key, Window())},
)
VERIFIER = RecordVerifier(KEYS)
HERE = Place("vru.accepted", 1)


def _rate(label: str, count: int, run: Callable[[], None], items: int = 1) -> None:
    """Run once; print the cost per record (and per item when a record carries several)."""
    start = time.perf_counter()
    run()
    elapsed = time.perf_counter() - start
    per = f" ({elapsed / count / items * 1e6:6.2f} µs/item)" if items > 1 else ""
    print(f"{label:<58} {elapsed / count * 1e6:9.2f} µs/record{per} {count / elapsed:11,.0f}/s")


def _seal_and_open(label: str, kind: Kind, spec: tuple[int, int], key: Any, n: int) -> None:
    items, size = spec
    bodies = [tuple(os.urandom(size) for _ in range(items)) for _ in range(n)]
    sealed: list[bytes] = []

    def seal() -> None:
        sealed.extend(seal_record(kind, NOW, b, HERE, key) for b in bodies)

    def verify() -> None:
        for value in sealed:
            VERIFIER.open(value, HERE, (kind,))

    _rate(f"{label}: seal", n, seal, items)
    _rate(f"{label}: verify", n, verify, items)


def bench_records(n: int) -> None:
    _seal_and_open("accepted, 1 event of 600 B (HMAC)", Kind.EVENTS, (1, EVENT), INTERNAL, n)
    _seal_and_open(
        "accepted, batch of 64 events (HMAC)", Kind.EVENTS, (64, EVENT), INTERNAL, n // 16
    )
    _seal_and_open("outbox, 1 alert of 1.5 KB (HMAC)", Kind.ALERTS, (1, PENDING), INTERNAL, n)
    _seal_and_open(
        "decisions, 1 decision of 1.4 KB (Ed25519)", Kind.DECISIONS, (1, DECISION), HUB, n
    )
    _seal_and_open("decisions, 9 decisions (Ed25519)", Kind.DECISIONS, (9, DECISION), HUB, n // 4)
    _seal_and_open(
        "agreement publication, 5 KB (Ed25519)", Kind.AGREEMENT, (1, AGREEMENT), GOVERNANCE, n // 4
    )
    _seal_and_open("switch marker (Ed25519)", Kind.SWITCH, (1, 32), GOVERNANCE, n // 4)


def bench_tables(n: int) -> None:
    rows = [Row("subjects", 1, f"lt1:{i:068d}".encode()) for i in range(n)]
    state = os.urandom(STATE)
    stored: list[bytes] = []

    def seal() -> None:
        stored.extend(seal_value(INTERNAL, r, i, state) for i, r in enumerate(rows))

    _rate("table value, 2 KB: seal on write", n, seal)
    _rate("table value: unwrap on read (no MAC)", n, lambda: [value_of(v) for v in stored])
    key = VERIFIER.internal_key
    _rate("table value: verify on recovery", n,
          lambda: [verify_value(key, r, v) for r, v in zip(rows, stored, strict=True)])  # fmt: skip


def bench_rebuild(n: int) -> None:
    records = []
    for seq in range(1, n + 1):
        alert_id = f"{seq:032x}"
        headers = (
            (CE_SPECVERSION, SPEC_VERSION.encode()),
            (CE_ID, alert_id.encode()),
            (CE_TYPE, b"vru.flag.raised"),
            (CE_SOURCE, source_of("reading").encode()),
            (CE_TIME, b"2026-12-01T00:00:00.000Z"),
            (PARTNERSHIP, b"reading"),
        )
        unnumbered = Unnumbered(alert_id.encode(), os.urandom(900), headers)
        records.append(number_alert(unnumbered, seq, HUB))

    def rebuild() -> None:
        log = PartnershipLog.rebuild(verified_meta(r, "reading", VERIFIER.hub_key) for r in records)
        assert log.last_seq == n  # noqa: S101  # a rebuild that lost records would be no figure

    _rate(f"sequencer rebuild from {n:,} signed alerts", n, rebuild)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=8_000)
    n = parser.parse_args().records
    print(f"{n:,} records per line (fewer for the costlier ones); one process, one core")
    bench_records(n)
    bench_tables(n)
    bench_rebuild(n)


if __name__ == "__main__":
    main()
