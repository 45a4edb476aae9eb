"""End-to-end latency, agency send to partnership receipt, measured on alerts.

Nothing in the hub is changed to measure it. The generator keeps its own record of every
send: wall-clock time, subject linkage token (the feed message key), event type, agency and
day. A partnership receives its own pseudonym of the subject, which the bench (holding the
development keyring) maps back to the token. The alert lists the events behind it (type,
agency, day); the newest send of that subject matching one of them, before the receipt, is
the event that raised or updated the flag. Latency is receipt time minus that send time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from bench.loadgen import Sent
from hub.alerts import AlertKind, AlertRecord, Heartbeat, OpenedAlert, open_alert
from hub.config import Settings
from hub.crypto import HUB, KeyKind, Keyring, agency_owner, partnership_owner
from hub.crypto.batchrecord import encode_batch_record
from hub.pseudonym import parse_token, pseudonym
from hub.registry import Registry
from hub.transport import kafka_endpoint, new_consumer
from hub.transport.partitioner import partition_for

if TYPE_CHECKING:  # the client itself comes from hub.transport.new_producer
    from aiokafka import AIOKafkaProducer

TICK_S = 0.005
BATCH_WINDOW_S = 0.05
"""How often a batching integration sends what it has (``paced_batches``)."""
TRIGGERED = (AlertKind.RAISED, AlertKind.UPDATED)

Stamp = tuple[float, str, str, date]


@dataclass
class Probe:
    """The generator's own record of what it sent, to match alerts back to sends."""

    tokens: dict[tuple[str, str], str]
    sends: dict[str, list[Stamp]] = field(default_factory=lambda: defaultdict(list))

    def trigger(self, partnership: str, alert: OpenedAlert, received: float) -> float | None:
        """Send time of the event that produced ``alert``, or None if it is not ours."""
        token = self.tokens.get((partnership, alert.body.subject))
        if token is None:
            return None
        listed = {(e.type, e.agency, e.date) for e in alert.body.events}
        times = [t for t, *what in self.sends[token] if tuple(what) in listed and t <= received]
        return max(times, default=None)


def build_probe(messages: Sequence[Sent], keyring: Keyring, registry: Registry) -> Probe:
    """Map every partnership's pseudonym of every subject in ``messages`` to its token."""
    keys = {
        p.id: keyring.hmac_key(partnership_owner(p.id), KeyKind.PSEUDONYM)
        for p in registry.partnerships
    }
    tokens: dict[tuple[str, str], str] = {}
    for text in {s.message.key.decode() for s in messages}:
        if not text.startswith("lt1:"):
            continue  # area-level events (keyed by LSOA) have no subject
        token = parse_token(text)
        for partnership, key in keys.items():
            tokens[(partnership, pseudonym(token, key).text)] = text
    return Probe(tokens)


async def paced_send(
    settings: Settings,
    producer: AIOKafkaProducer,
    messages: Sequence[Sent],
    rate: float,
    probe: Probe,
) -> dict[tuple[str, int], int]:
    """Send at ``rate`` events/s (a few per 5 ms tick); stamp each send in ``probe``."""
    started = time.monotonic()
    futures = []
    for index, sent in enumerate(messages):
        due = started + index / rate
        if (wait := due - time.monotonic()) > TICK_S:
            await asyncio.sleep(wait)
        key = sent.message.key.decode()
        probe.sends[key].append((time.time(), sent.event_type, sent.agency_id, sent.day))
        futures.append(
            await producer.send(
                settings.feed_topic(sent.agency_id),
                sent.message.value,
                key=sent.message.key,
                headers=list(sent.message.headers),
            )
        )
    ends: dict[tuple[str, int], int] = {}
    for meta in await asyncio.gather(*futures):
        tp = (meta.topic, meta.partition)
        ends[tp] = max(ends.get(tp, 0), meta.offset + 1)
    return ends


async def paced_batches(
    settings: Settings,
    producer: AIOKafkaProducer,
    messages: Sequence[Sent],
    rate: float,
    probe: Probe,
    *,
    keyring: Keyring,
    window_s: float = BATCH_WINDOW_S,
) -> dict[tuple[str, int], int]:
    """Send at ``rate`` events/s as an agency integration would at that volume: every
    ``window_s`` the events due are sealed as batch records (one per agency and feed partition,
    ``hub.crypto.batchrecord``) and sent; each event's send is stamped in ``probe``."""
    started = time.monotonic()
    futures = []
    for first in range(0, len(messages), max(1, round(rate * window_s))):
        due = started + first / rate + window_s
        if (wait := due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        groups: dict[tuple[str, int], list[Sent]] = defaultdict(list)
        for sent in messages[first : first + max(1, round(rate * window_s))]:
            partition = partition_for(sent.message.key, settings.partitions)
            groups[(sent.agency_id, partition)].append(sent)
        for (agency, partition), group in groups.items():
            key = keyring.signing_key(agency_owner(agency))
            record = encode_batch_record([g.message.value for g in group], key, agency)
            now = time.time()
            for g in group:
                probe.sends[g.message.key.decode()].append((now, g.event_type, agency, g.day))
            topic = settings.feed_topic(agency)
            futures.append(await producer.send(topic, record, partition=partition))
    ends: dict[tuple[str, int], int] = {}
    for meta in await asyncio.gather(*futures):
        tp = (meta.topic, meta.partition)
        ends[tp] = max(ends.get(tp, 0), meta.offset + 1)
    return ends


@dataclass(frozen=True, slots=True)
class Timed:
    """One matched alert's times (wall clock, seconds): the triggering event's send, the alert
    record's timestamp (set by the worker's sequencer as it sends it) and the bench's receipt."""

    sent: float
    produced: float
    received: float

    @property
    def in_worker_ms(self) -> float:
        """Send to alert record: feed, ingest, correlation and the sequencer, in the worker."""
        return (self.produced - self.sent) * 1000

    @property
    def delivery_ms(self) -> float:
        """Alert record to receipt: the broker and the bench's own fetch."""
        return (self.received - self.produced) * 1000


@dataclass
class Receipts:
    """Latencies of matched alerts, and counts of what could not be matched."""

    latencies_ms: list[float] = field(default_factory=list)
    timed: list[Timed] = field(default_factory=list)
    unmatched: int = 0
    other_kinds: int = 0

    def slowest(self, count: int, started: float) -> list[dict[str, float]]:
        """The ``count`` slowest alerts: when in the load their event was sent (s after
        ``started``), the time in the worker and the delivery (ms)."""
        ordered = sorted(self.timed, key=lambda t: t.received - t.sent, reverse=True)
        return [
            {
                "latency_ms": round((t.received - t.sent) * 1000, 1),
                "sent_s": round(t.sent - started, 2),
                "in_worker_ms": round(t.in_worker_ms, 1),
                "delivery_ms": round(t.delivery_ms, 1),
            }
            for t in ordered[:count]
        ]

    def by_second(self, started: float, width_s: float = 1.0) -> list[dict[str, float]]:
        """Latency against when in the load each alert's event was sent: per ``width_s``
        bucket of send time (s after ``started``), the alerts, their median and slowest
        latency and the most time one of them spent in the worker (ms)."""
        buckets: dict[int, list[Timed]] = defaultdict(list)
        for t in self.timed:
            buckets[math.floor((t.sent - started) / width_s)].append(t)
        return [
            {
                "sent_s": round(second * width_s, 2),
                "alerts": len(timed),
                "p50_ms": round(percentile([(t.received - t.sent) * 1000 for t in timed], 0.5), 1),
                "max_ms": round(max((t.received - t.sent) * 1000 for t in timed), 1),
                "in_worker_max_ms": round(max(t.in_worker_ms for t in timed), 1),
            }
            for second, timed in sorted(buckets.items())
        ]


async def receive_alerts(
    settings: Settings,
    registry: Registry,
    keyring: Keyring,
    probe: Probe,
    stop: asyncio.Event,
) -> Receipts:
    """Read every partnership's alerts as a partnership would, until ``stop`` is set."""
    topics = {settings.alert_topic(p.id): p.id for p in registry.partnerships}
    hpke = {p: keyring.hpke_key(partnership_owner(p)) for p in topics.values()}
    hub_keys = keyring.verify_keys(HUB)
    consumer = new_consumer(
        kafka_endpoint(settings),
        *topics,
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
    )
    receipts = Receipts()
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=50)
            received = time.time()
            for tp, records in batch.items():
                partnership = topics[tp.topic]
                for r in records:
                    record = AlertRecord(r.key or b"", r.value or b"", tuple(r.headers))
                    opened = open_alert(record, partnership, hpke[partnership], hub_keys)
                    times = (r.timestamp / 1000, received)
                    _count(receipts, probe, partnership, opened, times)
    finally:
        await consumer.stop()
    return receipts


def _count(
    receipts: Receipts,
    probe: Probe,
    partnership: str,
    opened: OpenedAlert | Heartbeat,
    times: tuple[float, float],
) -> None:
    """Match one alert to its send; ``times`` are its record's timestamp and its receipt."""
    produced, received = times
    if isinstance(opened, Heartbeat):
        return
    if opened.body.kind not in TRIGGERED:
        receipts.other_kinds += 1
        return
    sent = probe.trigger(partnership, opened, received)
    if sent is None:
        receipts.unmatched += 1
    else:
        receipts.latencies_ms.append((received - sent) * 1000)
        receipts.timed.append(Timed(sent, produced, received))


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[_rank(len(ordered), share)]


def rests_on(count: int, share: float) -> int:
    """How many of ``count`` values are at or above their nearest-rank ``share`` percentile.

    The percentile is the ``rests_on``-th largest value: with 110 alerts the p99 is the
    second-slowest (2), with 330 the fourth; 0 when there are no values.
    """
    return count - _rank(count, share) if count else 0


def _rank(count: int, share: float) -> int:
    return max(0, min(count - 1, math.ceil(share * count) - 1))
