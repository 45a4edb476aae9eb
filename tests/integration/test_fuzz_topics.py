"""Fuzzing every topic the hub reads, against a running worker on the real broker.

For each topic: thousands of records, random ones and ones mutated from the topic's own
genuine records (values, keys, partitions and headers: repeated, null, non-UTF-8, huge;
a few records of 200 to 900 KB, and records whose header names no client can decode), written
with a plain aiokafka producer. The worker must refuse (or quarantine, on the feeds) every one
it reads, never crash or stall, and a genuine flow run afterwards must deliver every flag it
should. Records read only when a worker starts (alert topics, table changelogs) are checked
across a restart. A longer run: ``python -m bench.fuzz_topics``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from hub.broker import EmbeddedBroker
from hub.config import Settings
from hub.crypto.record import Kind
from hub.registry import load_registry
from tests.fuzzing import Raw, hostile_records
from tests.integration.attack import (
    RunningHub,
    alerts_about,
    genuine_flow,
    opened,
    prepared_hub,
    produce_raw,
    produce_undecodable,
    wait_for,
)
from tests.integration.events import items_of
from tests.integration.kafka import consume
from tests.settings import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
COUNT = 2000
SEED = 20261205
REGISTRY = load_registry(ROOT / "deploy" / "registry.yaml")


@pytest.fixture(scope="module")
def hub(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    running = prepared_hub(broker, tmp_path_factory.mktemp("fuzz"))
    running.start()
    yield running
    if running.proc is not None:
        assert running.stop() == 0, running.tail()


async def _genuine(s: Settings, topics: list[str]) -> list[Raw]:
    records = await consume(s, topics, until=10**6, timeout_s=2)
    return [(r.key, r.value, list(r.headers), r.partition) for r in records]


async def _fuzz(
    s: Settings, topics: list[str], elsewhere: list[bytes], rng: random.Random
) -> dict[str, int]:
    """COUNT hostile records spread over ``topics``; per topic, how many replay nothing genuine."""
    genuine = await _genuine(s, topics)
    replays = {(v, p) for _, v, _, p in genuine}
    partitions = 1 if len(topics) > 1 or topics[0] in _single(s) else s.partitions
    records = hostile_records(genuine, elsewhere, rng, COUNT, partitions)
    hostile: dict[str, int] = {}
    by_topic: dict[str, list[Raw]] = {}
    for n, raw in enumerate(records):
        topic = topics[n % len(topics)]
        by_topic.setdefault(topic, []).append(raw)
        hostile[topic] = hostile.get(topic, 0) + ((raw[1], raw[3]) not in replays)
    for topic, raws in by_topic.items():
        await produce_raw(s, topic, raws)
    return hostile


def _single(s: Settings) -> set[str]:
    return {s.agreements_topic, s.decisions_topic, s.heads_topic, s.assignor_topic}


def _quarantined(hub: RunningHub) -> float:
    _, text = hub.get("/metrics")
    total = 0.0
    for line in text.splitlines():
        if line.startswith("vru_quarantined_total{") and 'step="ingest"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _flags_delivered(hub: RunningHub, subject: int) -> None:
    """A genuine flow after the fuzz: both flags reach Reading, numbered without a hole."""
    s = hub.settings
    await genuine_flow(s, subject)
    alerts = await alerts_about(s, "reading", subject, count=2, timeout_s=90)
    assert sorted(a.body.rule.id for a in alerts) == ["child-exploitation", "weapon-and-exclusion"]
    stream = await consume(s, [s.alert_topic("reading")], until=10**6, timeout_s=2)
    seqs = sorted(a.seq for a in opened(s, "reading", stream))
    assert seqs == list(range(1, len(seqs) + 1))


async def test_fuzzing_every_stream_topic_neither_stops_nor_fools_the_worker(
    hub: RunningHub,
) -> None:
    s = hub.settings
    rng = random.Random(SEED)  # reproducible hostile input, not a secret
    await genuine_flow(s, 71)  # genuine records on every topic, to mutate
    await alerts_about(s, "reading", 71, count=2, timeout_s=90)
    feeds = [s.feed_topic(a.id) for a in REGISTRY.agencies]
    elsewhere = [v for _, v, _, _ in await _genuine(s, [s.accepted_topic, s.outbox_topic])]
    elsewhere += items_of(
        await consume(s, [s.decisions_topic], until=10**6, timeout_s=1), Kind.DECISIONS
    )
    quarantined = _quarantined(hub)
    hostile: dict[str, int] = {}
    for topics in (
        feeds,
        [s.accepted_topic],
        [s.agreements_topic],
        [s.outbox_topic],
        [s.decisions_topic],
        [s.heads_topic],
        [s.assignor_topic],
    ):
        hostile |= await _fuzz(s, topics, elsewhere, rng)
    for topic in (s.accepted_topic, s.feed_topic("police"), s.decisions_topic):
        produce_undecodable(s, topic)

    expect = {t: hostile[t] for t in (s.accepted_topic, s.agreements_topic, s.outbox_topic,
                                      s.decisions_topic)}  # fmt: skip
    for topic, count in expect.items():
        wait_for(lambda t=topic, c=count: hub.refused(t) >= c, 90, f"{topic}: {count} refused")
    feed_count = sum(hostile[t] for t in feeds)
    wait_for(lambda: _quarantined(hub) - quarantined >= feed_count, 90, "feed records quarantined")
    wait_for(lambda: hub.refused(s.heads_topic) >= 1, 30, "forged heads refused")
    for topic in (s.accepted_topic, s.feed_topic("police"), s.decisions_topic):
        wait_for(lambda t=topic: hub.refused(t, "unreadable_batch") >= 1, 30, f"{topic} skipped")
    assert hub.alive(), hub.tail()
    await _flags_delivered(hub, 72)
    assert hub.lines("tree_head_refused") == []


async def test_fuzzed_alert_topics_and_changelogs_are_survived_by_a_restart(
    hub: RunningHub,
) -> None:
    s = hub.settings
    rng = random.Random(SEED + 1)  # reproducible hostile input, not a secret
    alerts = [s.alert_topic(p.id) for p in REGISTRY.partnerships]
    hostile: dict[str, Any] = {}
    hostile |= await _fuzz(s, alerts, [], rng)
    for table in ("subjects", "seen-events"):
        hostile |= await _fuzz(s, [s.changelog_topic(table)], [], rng)
    produce_undecodable(s, s.alert_topic("reading"))
    produce_undecodable(s, s.changelog_topic("subjects"))
    assert hub.stop() == 0, hub.tail()

    hub.start()  # rebuilds numbering and recovers both tables through every hostile record
    for table in ("subjects", "seen-events"):
        topic = s.changelog_topic(table)
        wait_for(lambda t=topic: hub.refused(t) >= hostile[t], 90, f"{topic} refused")
    assert hub.alive(), hub.tail()
    await _flags_delivered(hub, 73)
    for topic in alerts:  # every partnership's numbering was rebuilt, through every record
        wait_for(lambda t=topic: hub.refused(t) >= hostile[t], 90, f"{topic} refused")
