"""The hub's Prometheus metrics, and the small recording calls the agents make.

Every label value is a configuration id (agency, partnership, rule, agreement, topic), a
closed code (outcome, quarantine reason, pipeline step) or a partition number. None is ever
a personal value: no token, pseudonym, event id, alert id or field value (a test scrapes a
worker after a flow and checks). ``docs/monitoring.md`` lists every series.

Time through the pipeline: the ingest agent stamps each accepted record with the agency's
send time (the feed record's Kafka timestamp) in the ``vru-origin-ms`` header; the correlate
agent carries it onto the outbox records an event causes; the sequencer observes the
latency when it publishes the alert. Alerts caused by clock ticks or agreement switches
carry no origin and are not observed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from hub.alerts.headers import CE_TIME
from hub.audit import TreeHead
from hub.dispatch import DecisionRecord
from hub.dsa import Agreement

REGISTRY = CollectorRegistry(auto_describe=True)
ORIGIN_HEADER = "vru-origin-ms"
"""Header carrying the agency's send time (ms since the epoch) of the event behind a record."""
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
NO_AGENCY = "none"
NO_AGREEMENT = "none"
ORIGINS_KEPT = 10_000

Headers = Sequence[tuple[str, bytes]]

EVENTS = Counter(
    "vru_ingest_events_total",
    "Feed messages by agency and outcome (accepted or quarantined).",
    ["agency", "outcome"],
    registry=REGISTRY,
)
QUARANTINED = Counter(
    "vru_quarantined_total",
    "Records sent to quarantine, by pipeline step, agency (none past ingest) and reason code.",
    ["step", "agency", "reason"],
    registry=REGISTRY,
)
DECISIONS = Counter(
    "vru_decisions_total",
    "Disclosure decisions by partnership, outcome and the agreements that governed them.",
    ["partnership", "outcome", "agreement"],
    registry=REGISTRY,
)
FLAGS = Counter(
    "vru_flags_total",
    "Flags a partnership was alerted to (raised or updated and permitted), by rule.",
    ["rule", "partnership"],
    registry=REGISTRY,
)
ALERTS = Counter(
    "vru_alerts_sequenced_total",
    "Alerts numbered and sent (from the stream or an outbox sweep), by partnership.",
    ["partnership"],
    registry=REGISTRY,
)
ALERT_DUPLICATES = Counter(
    "vru_alerts_duplicate_dropped_total",
    "Alerts not sent again because their id was already on the partnership's stream.",
    ["partnership"],
    registry=REGISTRY,
)
LAST_SEQ = Gauge(
    "vru_alert_last_seq",
    "The last sequence number this worker sent (or read back) on a partnership's stream.",
    ["partnership"],
    registry=REGISTRY,
)
DELIVERY_LAG = Gauge(
    "vru_alert_delivery_lag_seconds",
    "Seconds from the newest alert's creation (its decision time, ce_time) to its publication.",
    ["partnership"],
    registry=REGISTRY,
)
HEARTBEAT = Gauge(
    "vru_heartbeat_last_sent_timestamp_seconds",
    "When this worker last sent a heartbeat to a partnership (0: never).",
    ["partnership"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "vru_alert_latency_seconds",
    "Seconds from the agency's send of an event to the publication of an alert it caused.",
    ["partnership"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "vru_consumer_lag",
    "Records on an assigned partition past the consumer's position (true end minus position).",
    ["topic", "partition"],
    registry=REGISTRY,
)
REVIEW_DUE = Gauge(
    "vru_agreement_review_timestamp_seconds",
    "Start (UTC) of the review date of each agreement in force.",
    ["agreement"],
    registry=REGISTRY,
)
REVIEW_OVERDUE = Gauge(
    "vru_agreement_review_overdue",
    "1 if an agreement in force is past its review date (as `hub dsa check` says), else 0.",
    ["agreement"],
    registry=REGISTRY,
)
LEDGER_ENTRIES = Gauge(
    "vru_audit_ledger_entries",
    "Decision records this worker's ledger holds (it follows the whole decisions topic).",
    registry=REGISTRY,
)
HEAD_SIZE = Gauge(
    "vru_audit_tree_head_size",
    "Size of the newest signed tree head on the heads topic (seen by the head writer).",
    registry=REGISTRY,
)
HEAD_TIME = Gauge(
    "vru_audit_tree_head_timestamp_seconds",
    "Timestamp of the newest signed tree head on the heads topic (seen by the head writer).",
    registry=REGISTRY,
)
REFUSED = Counter(
    "vru_records_refused_total",
    "Records the hub read and refused (not authentic, misplaced, stale or unusable), by topic "
    "and reason code: every one is a security event (docs/threat-model.md).",
    ["topic", "reason"],
    registry=REGISTRY,
)
SEND_RETRIES = Counter(
    "vru_send_retries_total",
    "Sends an agent tried again because the broker or the network failed them (the record "
    "waits, unacknowledged; it is never quarantined for it), by agent.",
    ["agent"],
    registry=REGISTRY,
)
READY = Gauge(
    "vru_worker_ready",
    "1 when the worker is ready (tables recovered, partitions assigned, not rebalancing).",
    registry=REGISTRY,
)


def count_ingest(agency: str, status: str, reason: str) -> None:
    """One feed message: accepted, or quarantined with ``reason``."""
    count_ingest_many({(agency, status, reason): 1})


def count_ingest_many(counts: Mapping[tuple[str, str, str], int]) -> None:
    """Many feed messages at once: ``(agency, status, reason)`` -> how many (as
    :func:`count_ingest` each, with one update of each series touched)."""
    for (agency, status, reason), n in counts.items():
        EVENTS.labels(agency=agency or NO_AGENCY, outcome=status).inc(n)
        if status == "quarantined":
            count_quarantine("ingest", reason, agency, n)


def count_quarantine(step: str, reason: str, agency: str = NO_AGENCY, n: int = 1) -> None:
    """``n`` records quarantined by ``step`` for ``reason`` (a closed code)."""
    QUARANTINED.labels(step=step, agency=agency or NO_AGENCY, reason=reason).inc(n)


def count_send_retry(agent: str) -> None:
    """One send ``agent`` tries again after the broker or the network failed it."""
    SEND_RETRIES.labels(agent=agent).inc()


def count_refusal(topic: str, reason: str) -> None:
    """One record refused on ``topic`` for ``reason`` (a closed code)."""
    REFUSED.labels(topic=topic, reason=reason).inc()


def count_decision(record: DecisionRecord) -> None:
    """One decision record: by outcome and agreements; a permitted alert is a flag delivered."""
    count_decisions((record,))


def count_decisions(records: Iterable[DecisionRecord]) -> None:
    """Many decision records at once (as :func:`count_decision` each, with one update of
    each series touched)."""
    decided: dict[tuple[str, str, str], int] = {}
    flagged: dict[tuple[str, str], int] = {}
    for record in records:
        key = (record.recipient, record.outcome, agreements_of(record))
        decided[key] = decided.get(key, 0) + 1
        if record.outcome == "permit" and record.alert_id is not None:
            flag = (record.rule_id, record.recipient)
            flagged[flag] = flagged.get(flag, 0) + 1
    for (partnership, outcome, agreement), n in decided.items():
        DECISIONS.labels(partnership=partnership, outcome=outcome, agreement=agreement).inc(n)
    for (rule, partnership), n in flagged.items():
        FLAGS.labels(rule=rule, partnership=partnership).inc(n)


def agreements_of(record: DecisionRecord) -> str:
    """The agreement ids behind a decision, sorted and joined with ``+`` (``none`` if none)."""
    ids = sorted({d.agreement_id for d in record.decisions if d.agreement_id})
    return "+".join(ids) or NO_AGREEMENT


def origin_headers(timestamp_s: float | None, headers: Headers = ()) -> list[tuple[str, bytes]]:
    """``headers`` plus the origin time, unless absent or already there (a redelivery)."""
    kept = list(headers)
    if timestamp_s is None or any(name == ORIGIN_HEADER for name, _ in kept):
        return kept
    return [*kept, (ORIGIN_HEADER, str(round(timestamp_s * 1000)).encode())]


ORIGIN_DIGITS = 16
"""Milliseconds since the epoch fit 13 digits for millennia: a longer value is not a time."""


def origin_of(headers: Headers) -> float | None:
    """The origin time (seconds since the epoch) a record carries, if any.

    The header is not authenticated (a latency metric only): a value that is not a plain
    number of at most 16 digits is ignored, never raised on.
    """
    for name, value in headers:
        if name == ORIGIN_HEADER and value.isdigit() and len(value) <= ORIGIN_DIGITS:
            return int(value) / 1000
    return None


class OriginBook:
    """Origin times of outbox records read but not yet numbered, by alert id.

    The sequencer numbers an outbox record either as its stream reaches it or in a sweep
    after a rebalance, whichever comes first; both note the record's origin here, and the
    numbering takes it. Bounded: the oldest entries go first.
    """

    def __init__(self, limit: int = ORIGINS_KEPT) -> None:
        self._times: OrderedDict[str, float] = OrderedDict()
        self._limit = limit

    def note(self, alert_id: str, headers: Headers) -> None:
        """Keep the origin the record's headers carry, if any."""
        origin = origin_of(headers)
        if origin is not None:
            self._times[alert_id] = origin
            while len(self._times) > self._limit:
                self._times.popitem(last=False)

    def take(self, alert_id: str) -> float | None:
        """The origin noted for ``alert_id``, forgotten once taken."""
        return self._times.pop(alert_id, None)


def alert_published(
    partnership: str, seq: int, headers: Headers, now: datetime, origin: float | None = None
) -> None:
    """An alert went out as ``seq``: its number, the lag since its creation, and, with the
    agency's send time of the event behind it (``origin``), the latency since then."""
    ALERTS.labels(partnership=partnership).inc()
    LAST_SEQ.labels(partnership=partnership).set(seq)
    if origin is not None:
        LATENCY.labels(partnership=partnership).observe(max(now.timestamp() - origin, 0.0))
    created = _time_of(dict(headers).get(CE_TIME))
    if created is not None:
        DELIVERY_LAG.labels(partnership=partnership).set((now - created).total_seconds())


def _time_of(text: bytes | None) -> datetime | None:
    """An RFC 3339 header value as an aware time; None if absent or malformed (never raise:
    a metric must not fail a publication)."""
    try:
        at = datetime.fromisoformat((text or b"").decode("ascii").replace("Z", "+00:00"))
    except (UnicodeDecodeError, ValueError):
        return None
    return at if at.tzinfo is not None else None


def count_stream_record(partnership: str, seq: int | None) -> None:
    """The stream reached an outbox record. ``seq`` None: it was dropped, its alert already on
    the topic (an earlier delivery, or a sweep got there first). Numbering itself is counted
    by :func:`alert_published`."""
    if seq is None:
        ALERT_DUPLICATES.labels(partnership=partnership).inc()


def stream_read(partnership: str, last_seq: int) -> None:
    """The partnership's stream was read back: its last number is known."""
    LAST_SEQ.labels(partnership=partnership).set(last_seq)


def heartbeat_sent(partnership: str, last_seq: int, now: datetime) -> None:
    """A heartbeat went to ``partnership``."""
    HEARTBEAT.labels(partnership=partnership).set(now.timestamp())
    LAST_SEQ.labels(partnership=partnership).set(last_seq)


def partnerships_known(partnerships: Iterable[str]) -> None:
    """Export every partnership's heartbeat series from the start (0 until one is sent)."""
    for partnership in partnerships:
        HEARTBEAT.labels(partnership=partnership)


def tree_head_seen(head: TreeHead | None) -> None:
    """The newest tree head on the heads topic."""
    if head is not None:
        HEAD_SIZE.set(head.size)
        HEAD_TIME.set(head.timestamp.timestamp())


def lag_of(
    ends: Mapping[tuple[str, int], int], positions: Mapping[tuple[str, int], int | None]
) -> dict[tuple[str, int], int]:
    """Records past each position: end minus position (no position yet: the whole partition)."""
    return {tp: max(ends.get(tp, 0) - (position or 0), 0) for tp, position in positions.items()}


def record_consumer_lag(lags: Mapping[tuple[str, int], int]) -> None:
    """Replace the consumer lag series with ``lags`` ((topic, partition) -> records behind)."""
    CONSUMER_LAG.clear()
    for (topic, partition), lag in lags.items():
        CONSUMER_LAG.labels(topic=topic, partition=str(partition)).set(lag)


def record_agreements(in_force: Iterable[Agreement], today: date) -> None:
    """Replace the review series with the agreements in force ``today``."""
    REVIEW_DUE.clear()
    REVIEW_OVERDUE.clear()
    for agreement in in_force:
        start = datetime.combine(agreement.review_date, time(0), tzinfo=UTC)
        REVIEW_DUE.labels(agreement=agreement.id).set(start.timestamp())
        REVIEW_OVERDUE.labels(agreement=agreement.id).set(int(agreement.review_date < today))
