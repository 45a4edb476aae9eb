"""A long fuzz run of every topic the hub reads, against a real worker on a fresh broker.

Run: ``.venv/bin/python -m bench.fuzz_topics [--count N] [--seed S]``. The generators are
``tests/integration/test_fuzz_topics.py``'s (``tests.fuzzing.hostile_records``), ``N`` records
per topic family (default 20,000): the feeds, accepted, agreements, outbox, decisions, heads,
the assignor topic, then the alert topics and both table changelogs across a restart. It
prints what the worker refused, by topic and reason, whether it stayed up, and whether a
genuine flow afterwards delivered both its flags. A crash, a stall or a lost flag is a failure
(exit status 1).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from hub.broker import EmbeddedBroker
from hub.config import Settings
from hub.registry import load_registry
from tests.fuzzing import hostile_records
from tests.integration.attack import (
    ROOT,
    RunningHub,
    alerts_about,
    genuine_flow,
    prepared_hub,
    produce_raw,
)
from tests.integration.kafka import consume


async def _fuzz(s: Settings, topics: list[str], count: int, rng: random.Random) -> int:
    records = await consume(s, topics, until=10**6, timeout_s=2)
    genuine = [(r.key, r.value, list(r.headers), r.partition) for r in records]
    single = len(topics) > 1 or topics[0] in {s.agreements_topic, s.decisions_topic,
                                              s.heads_topic, s.assignor_topic}  # fmt: skip
    hostile = hostile_records(genuine, [], rng, count, 1 if single else s.partitions)
    for n, topic in enumerate(topics):
        await produce_raw(s, topic, hostile[n :: len(topics)])
    return len(hostile)


def _refusals(hub: RunningHub) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in hub.lines("record_refused"):
        name = f"{line['topic'].split('.', 1)[-1]} {line['reason']}"
        counts[name] = counts.get(name, 0) + 1
    return counts


async def _flow(hub: RunningHub, subject: int) -> bool:
    await genuine_flow(hub.settings, subject)
    alerts = await alerts_about(hub.settings, "reading", subject, count=2, timeout_s=180)
    return sorted(a.body.rule.id for a in alerts) == ["child-exploitation", "weapon-and-exclusion"]


async def _run(hub: RunningHub, count: int, rng: random.Random) -> bool:
    s = hub.settings
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    await genuine_flow(s, 71)
    await alerts_about(s, "reading", 71, count=2, timeout_s=120)
    families = [
        [s.feed_topic(a.id) for a in registry.agencies],
        [s.accepted_topic],
        [s.agreements_topic],
        [s.outbox_topic],
        [s.decisions_topic],
        [s.heads_topic],
        [s.assignor_topic],
    ]
    started = time.monotonic()
    sent = sum([await _fuzz(s, topics, count, rng) for topics in families])
    ok = await _flow(hub, 72) and hub.alive()
    print(f"stream topics: {sent:,} hostile records, worker up: {hub.alive()}, flags: {ok}, "
          f"{time.monotonic() - started:.0f} s")  # fmt: skip
    restart = [[s.alert_topic(p.id) for p in registry.partnerships]]
    restart += [[s.changelog_topic("subjects")], [s.changelog_topic("seen-events")]]
    sent = sum([await _fuzz(s, topics, count, rng) for topics in restart])
    hub.stop()
    started = time.monotonic()
    hub.start()
    again = await _flow(hub, 73) and hub.alive()
    print(f"read at start: {sent:,} hostile records, restarted and ready in "
          f"{time.monotonic() - started:.0f} s, flags: {again}")  # fmt: skip
    return ok and again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="records per topic family")
    parser.add_argument("--seed", type=int, default=20261205)
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311  # reproducible hostile input, not a secret
    with tempfile.TemporaryDirectory() as scratch, EmbeddedBroker() as broker:
        hub = prepared_hub(broker, Path(scratch))
        hub.start()
        try:
            ok = asyncio.run(_run(hub, args.count, rng))
        finally:
            hub.stop()
        for name, n in sorted(_refusals(hub).items()):
            print(f"  refused {name:<48} {n:>9,}")
    if not ok:
        raise SystemExit("FAIL: the worker stopped or a genuine flag was not delivered")
    print("OK")


if __name__ == "__main__":
    main()
