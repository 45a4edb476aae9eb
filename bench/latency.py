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
from typing import TYPE_CHECKING, Any

from aiokafka.structs import ConsumerRecord

from bench.loadgen import Sent
from hub import metrics
from hub.alerts import AlertKind, AlertRecord, Heartbeat, OpenedAlert, open_alert
from hub.config import Settings
from hub.crypto import HUB, KeyKind, Keyring, agency_owner, partnership_owner
from hub.crypto.batchrecord import encode_batch_record
from hub.crypto.record import Kind, Place
from hub.crypto.trust import RecordVerifier
from hub.errors import HubError
from hub.pseudonym import parse_token, pseudonym
from hub.registry import Registry
from hub.sequencer import Pending
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
    record's timestamp (set by the worker's sequencer as it sends it) and the bench's receipt;
    its alert id and the accepted partition of its subject, to find its stages
    (:func:`stage_marks`)."""

    sent: float
    produced: float
    received: float
    alert_id: str = ""
    partition: int = -1

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
                    where = ((r.key or b"").decode(errors="replace"), settings.partitions)
                    _count(receipts, probe, partnership, opened, times, where=where)
    finally:
        await consumer.stop()
    return receipts


def _count(
    receipts: Receipts,
    probe: Probe,
    partnership: str,
    opened: OpenedAlert | Heartbeat,
    times: tuple[float, float],
    *,
    where: tuple[str, int] = ("", 0),
) -> None:
    """Match one alert to its send; ``times`` are its record's timestamp and its receipt,
    ``where`` its alert id (the record key) and the accepted topic's partition count."""
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
        alert_id, partitions = where
        token = probe.tokens.get((partnership, opened.body.subject), "")
        partition = partition_for(token.encode(), partitions) if token and partitions else -1
        receipts.timed.append(Timed(sent, produced, received, alert_id, partition))


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


STAGES = ("ingest", "correlate", "sequence", "delivery")
"""An alert's time, hop by hop: send to its accepted record (the feed fetch and ingest),
accepted record to its outbox record (the accepted fetch and correlation), outbox record to
alert record (the outbox fetch and the sequencer), alert record to the bench's receipt."""


@dataclass
class StageMarks:
    """Write times (Kafka CreateTime, seconds) of the worker's intermediate records, read back
    after a latency phase: each accepted record by (partition, origin ms) (the feed send time
    ingest puts on it, ``hub.metrics.ORIGIN_HEADER``), and each alert's outbox record by alert
    id. Nothing in the worker is changed to measure them."""

    accepted: dict[tuple[int, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    outbox: dict[str, tuple[float, int]] = field(default_factory=dict)

    def stages_ms(self, timed: Timed) -> dict[str, float] | None:
        """``timed``'s time per stage (:data:`STAGES`), ms; None when a mark is missing (an
        alert a clock tick raised carries no origin)."""
        found = self.outbox.get(timed.alert_id)
        if found is None:
            return None
        outboxed, origin = found
        written = [t for t in self.accepted.get((timed.partition, origin), ()) if t <= outboxed]
        if not written:
            return None
        accepted = max(written)
        return {
            "ingest": round((accepted - timed.sent) * 1000, 1),
            "correlate": round((outboxed - accepted) * 1000, 1),
            "sequence": round((timed.produced - outboxed) * 1000, 1),
            "delivery": round((timed.received - timed.produced) * 1000, 1),
        }


async def stage_marks(settings: Settings, verifier: RecordVerifier) -> StageMarks:
    """Read the accepted and outbox topics to their quiet end (:class:`StageMarks`)."""
    consumer = new_consumer(
        kafka_endpoint(settings),
        settings.accepted_topic,
        settings.outbox_topic,
        group_id=None,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    marks = StageMarks()
    await consumer.start()
    try:
        empty = 0
        while empty < 2:  # two empty polls in a row: the end
            batch = await consumer.getmany(timeout_ms=200, max_records=50_000)
            empty = 0 if any(batch.values()) else empty + 1
            for tp, records in batch.items():
                for r in records:
                    origin = metrics.origin_of(tuple((k, bytes(v or b"")) for k, v in r.headers))
                    if origin is None:
                        continue
                    origin_ms = round(origin * 1000)
                    if tp.topic == settings.accepted_topic:
                        marks.accepted[(tp.partition, origin_ms)].append(r.timestamp / 1000)
                    else:
                        _mark_outbox(marks, verifier, r, origin_ms)
    finally:
        await consumer.stop()
    return marks


def _mark_outbox(
    marks: StageMarks, verifier: RecordVerifier, record: ConsumerRecord[bytes, bytes], origin: int
) -> None:
    try:
        opened = verifier.open(
            record.value or b"", Place(record.topic, record.partition), (Kind.ALERTS,)
        )
        ids = [Pending.from_bytes(item).alert_id for item in opened.items]
    except HubError:
        return
    for alert_id in ids:
        marks.outbox.setdefault(alert_id, (record.timestamp / 1000, origin))


def stage_summary(
    receipts: Receipts, marks: StageMarks, started: float, count: int
) -> dict[str, Any]:
    """Per stage, p50 / p99 / max over the alerts whose stages were found; the ``count``
    slowest alerts with their stages; and per second of send time the most any alert spent
    in each stage (where the tail's time goes, and when)."""
    staged = [(t, s) for t in receipts.timed if (s := marks.stages_ms(t)) is not None]
    summary: dict[str, Any] = {"alerts_staged": len(staged)}
    for stage in STAGES:
        values = [s[stage] for _, s in staged]
        summary[stage] = {
            "p50_ms": round(percentile(values, 0.5), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
            "max_ms": round(max(values, default=float("nan")), 1),
        }
    ordered = sorted(staged, key=lambda ts: ts[0].received - ts[0].sent, reverse=True)
    summary["slowest"] = [
        {"sent_s": round(t.sent - started, 2), "latency_ms": round((t.received - t.sent) * 1000, 1)}
        | s
        for t, s in ordered[:count]
    ]
    buckets: dict[int, list[dict[str, float]]] = defaultdict(list)
    for t, s in staged:
        buckets[math.floor(t.sent - started)].append(s)
    summary["by_second_max"] = [
        {"sent_s": second} | {stage: max(s[stage] for s in found) for stage in STAGES}
        for second, found in sorted(buckets.items())
    ]
    return summary


def stage_lines(summary: dict[str, Any]) -> list[str]:
    """The stage summary as printable lines."""
    per = ", ".join(
        f"{stage} {summary[stage]['p50_ms']:.0f}/{summary[stage]['p99_ms']:.0f}"
        f"/{summary[stage]['max_ms']:.0f}"
        for stage in STAGES
    )
    slow = "; ".join(
        f"{s['latency_ms']:.0f} at {s['sent_s']:.1f} s = "
        + " + ".join(f"{s[stage]:.0f}" for stage in STAGES)
        for s in summary["slowest"]
    )
    late = "; ".join(
        f"{b['sent_s']}s: " + "/".join(f"{b[stage]:.0f}" for stage in STAGES)
        for b in summary["by_second_max"]
        if b["sent_s"] >= 20  # the load's end, where the tail is made
    )
    return [
        f"stages over {summary['alerts_staged']} alerts, p50/p99/max ms: {per}",
        f"slowest, ms = {' + '.join(STAGES)}: {slow}",
        f"stage max per send second from 20 s ({'/'.join(STAGES)}): {late}",
    ]
