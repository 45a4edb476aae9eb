"""Disclosure decisions per second: one event against the nine partnerships.

Run: ``.venv/bin/python bench/bench_dsa.py [--seconds 3]``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.dsa import (
    AgreementBook,
    ConsentBook,
    ConsentGrant,
    Evaluator,
    EventFacts,
    Purpose,
    encode_agreement_message,
    load_directory,
    project,
)
from hub.registry import load_registry

AT = datetime(2026, 11, 24, 12, tzinfo=UTC)
TOKEN = "tok-bench"  # noqa: S105  # a made-up linkage token, not a secret


def _event(agency: str, event_type: str, council: str) -> EventFacts:
    return EventFacts(
        event_id="bench-1",
        agency_id=agency,
        event_type=event_type,
        occurred_at=AT - timedelta(hours=1),
        council=council,
        age=16,
        subject_token=TOKEN,
        fields={
            "offence": "WOUNDING",
            "weapon": "KNIFE",
            "location_type": "STREET",
            "domestic": False,
        },
    )


def _rate(label: str, unit: int, seconds: float, work: Callable[[], object]) -> None:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            work()
        done += 100
    per_second = done * unit / elapsed
    print(f"{label:58} {per_second:>12,.0f} /s  ({elapsed / (done * unit) * 1e6:6.2f} µs each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    registry = load_registry(Path("deploy/registry.yaml"))
    loaded = load_directory(Path("deploy/agreements"))
    book = AgreementBook.from_agreements(a for _, a in loaded.agreements)
    partnerships = [p.id for p in registry.partnerships]
    evaluator = Evaluator(book, registry)
    police = _event("police", "police.violent_incident", "E06000038")
    voluntary = _event("voluntary-sector", "voluntary.engagement", "E06000038")
    grant = ConsentGrant(
        consent_id="c-1",
        subject_token=TOKEN,
        purpose=Purpose.EARLY_INTERVENTION,
        provider="voluntary-sector",
        recipients=frozenset(partnerships),
        given_at=AT - timedelta(days=1),
    )
    consent = ConsentBook([grant])
    in_force = len(book.in_force(AT))
    print(f"{len(loaded.agreements)} agreement versions, {in_force} in force at {AT:%Y-%m-%d}")

    def nine(event: EventFacts, view: ConsentBook) -> None:
        for partnership in partnerships:
            evaluator.decide(event, partnership, AT, view)

    _rate(
        "decisions, police event x 9 recipients (1 permit)",
        9,
        args.seconds,
        lambda: nine(police, consent),
    )
    _rate(
        "decisions, consent flow x 9 recipients (consent lookups)",
        9,
        args.seconds,
        lambda: nine(voluntary, consent),
    )
    decision = evaluator.decide(police, "reading", AT)
    _rate("projections of a permitted event", 1, args.seconds, lambda: project(police, decision))
    _rate(
        "events fully decided against 9 recipients", 1, args.seconds, lambda: nine(police, consent)
    )

    start = time.perf_counter()
    Evaluator(book, registry).index_at(AT)
    print(
        f"{'cold index build for one interval':58} {(time.perf_counter() - start) * 1e3:12.2f} ms"
    )
    messages = [encode_agreement_message(a, i, AT) for i, (_, a) in enumerate(loaded.agreements, 1)]
    start = time.perf_counter()
    fresh = AgreementBook()
    for message in messages:
        fresh = fresh.apply(message)
    elapsed_ms = (time.perf_counter() - start) * 1e3
    print(f"{'applying every shipped agreement message to a new book':58} {elapsed_ms:12.2f} ms")


if __name__ == "__main__":
    main()
