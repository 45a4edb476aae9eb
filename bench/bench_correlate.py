"""Flag evaluations per second: one subject window of 5, 20 or 100 contributions, shipped rules.

Run: ``.venv/bin/python -m bench.bench_correlate [--seconds 2]``. Prints figures; asserts nothing.
Besides ``evaluate`` it times the other per-event steps of the correlator: ``add`` plus
``evaluate`` (what one accepted event costs), the window's bytes both ways, and ``expire``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from hub.codec import SchemaStore
from hub.flags import Contribution, SubjectWindow, evaluate, expire
from hub.registry import load_registry
from hub.rules import RuleSet, catalog_from_store

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 1, 6, tzinfo=UTC)
TOKEN = "lt1:YmVuY2gtc3ViamVjdC10b2tlbg"  # noqa: S105  # a made-up linkage token, not a secret
# Qualifying field values for the shipped rules; drawn at random per contribution.
VALUES: dict[str, list[object]] = {
    "exploitation_type": ["CRIMINAL", "SEXUAL", "NONE_IDENTIFIED"],
    "subject_role": ["SUSPECT", "VICTIM", "WITNESS"],
    "offence_group": ["ROBBERY", "VIOLENCE_AGAINST_THE_PERSON", "DRUG_OFFENCES"],
    "intent_to_supply": [True, False],
    "outcome": ["ARREST", "NOTHING_FOUND", "REFERRAL_ORDER"],
    "stage": ["ENGAGED", "DISENGAGED", "CLOSED_OTHER"],
}


def _window(
    size: int, rules: RuleSet, agencies: dict[str, str], rng: random.Random
) -> SubjectWindow:
    types = sorted({c.type for r in rules.rules for c in r.events})
    window = SubjectWindow()
    for n in range(size):
        event_type = rng.choice(types)
        window = window.add(
            Contribution(
                event_id=f"evt-{n:05d}",
                event_type=event_type,
                agency_id=agencies[event_type],
                occurred_at=T0 + timedelta(hours=rng.randrange(90 * 24)),
                age=rng.randrange(12, 18),
                fields={f: rng.choice(VALUES[f]) for f in sorted(rules.fields_for(event_type))},
            )
        )
    return window


def _rate(label: str, seconds: float, run: Callable[[], object]) -> None:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        run()
        count += 1
    print(f"{label:<44} {elapsed / count * 1e6:10.1f} µs/op {count / elapsed:12,.0f} op/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    rules = RuleSet.load(
        ROOT / "deploy" / "rules", catalog_from_store(SchemaStore.load(ROOT / "schemas"))
    )
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    agencies = {t: a.id for a in registry.agencies for t in a.event_types}
    now = T0 + timedelta(days=91)
    print(f"{len(rules)} rules, horizon {rules.horizon.days} days")
    for size in (5, 20, 100):
        rng = random.Random(size)  # noqa: S311  # reproducible synthetic data, not a secret
        window = _window(size, rules, agencies, rng)
        flags = evaluate(rules, TOKEN, window, now)
        data = window.to_bytes()
        extra = window.contributions[0].model_copy(update={"event_id": "evt-new"})
        print(f"-- window of {size} contributions: {len(flags)} flags, {len(data)} bytes stored")
        _rate(f"evaluate ({size})", args.seconds, partial(evaluate, rules, TOKEN, window, now))
        _rate(
            f"add + evaluate ({size})",
            args.seconds,
            partial(_add_evaluate, rules, window, extra, now),
        )
        _rate(f"to_bytes + from_bytes ({size})", args.seconds, partial(_round_trip, window))
        _rate(f"expire ({size})", args.seconds, partial(expire, rules, window, now))


def _add_evaluate(
    rules: RuleSet, window: SubjectWindow, extra: Contribution, now: datetime
) -> object:
    return evaluate(rules, TOKEN, window.add(extra), now)


def _round_trip(window: SubjectWindow) -> object:
    return SubjectWindow.from_bytes(window.to_bytes())


if __name__ == "__main__":
    main()
