"""The recording calls the agents make, read back from the metrics registry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from prometheus_client import generate_latest

from hub import metrics
from hub.alerts.headers import CE_TIME
from hub.dispatch import DecisionRecord
from hub.dsa import Decision, Outcome, Purpose, load_directory
from tests.overrides import known_only
from tests.settings import ROOT

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def value(name: str, **labels: str) -> float:
    """The sample's value, 0 when not recorded yet; label names the series lacks are refused."""
    found = metrics.REGISTRY.get_sample_value(name, labels)
    if found is None:
        series = [s.labels for m in metrics.REGISTRY.collect() for s in m.samples if s.name == name]
        for known in series:
            known_only(labels, known, f"value[{name}]")
    return 0.0 if found is None else found


def decision(outcome: Outcome, agreement: str | None) -> Decision:
    return Decision(
        outcome=outcome,
        event_id="0190f0c8-0000-7000-8000-000000000001",
        recipient="reading",
        purpose=Purpose.SAFEGUARDING,
        at=NOW,
        agreement_id=agreement,
    )


def record(outcome: str, alert_id: str | None, *decisions: Decision) -> DecisionRecord:
    return DecisionRecord(
        decision_id="d" * 32,
        decided_at=NOW,
        recipient="unit-reading",
        flag_id="f" * 32,
        rule_id="unit-rule",
        rule_version=1,
        policy_sequence=3,
        outcome=outcome,
        events=("0190f0c8-0000-7000-8000-000000000001",),
        inputs_digest="i" * 32,
        decisions=decisions,
        alert_id=alert_id,
    )


def test_ingest_counts_outcomes_and_quarantine_reasons_by_agency() -> None:
    before = value("vru_quarantined_total", step="ingest", agency="unit-a", reason="bad_signature")
    metrics.count_ingest("unit-a", "accepted", "accepted")
    metrics.count_ingest("unit-a", "quarantined", "bad_signature")
    metrics.count_ingest("", "quarantined", "decode_error")
    assert value("vru_ingest_events_total", agency="unit-a", outcome="accepted") >= 1
    assert value("vru_ingest_events_total", agency="unit-a", outcome="quarantined") >= 1
    after = value("vru_quarantined_total", step="ingest", agency="unit-a", reason="bad_signature")
    assert after == before + 1
    assert value("vru_quarantined_total", step="ingest", agency="none", reason="decode_error") >= 1


def test_decisions_are_counted_by_agreements_and_a_permitted_alert_is_a_flag() -> None:
    flags = value("vru_flags_total", rule="unit-rule", partnership="unit-reading")
    both = record(
        "permit",
        "a" * 32,
        decision(Outcome.PERMIT, "tv-police-svd"),
        decision(Outcome.PERMIT, "tv-csc-safeguarding"),
        decision(Outcome.PERMIT, "tv-police-svd"),
    )
    denied = record("deny", None, decision(Outcome.DENY, None))
    metrics.count_decision(both)
    metrics.count_decision(denied)
    assert metrics.agreements_of(both) == "tv-csc-safeguarding+tv-police-svd"
    assert metrics.agreements_of(denied) == "none"
    labels = {"partnership": "unit-reading", "agreement": "none", "outcome": "deny"}
    assert value("vru_decisions_total", **labels) >= 1
    assert value("vru_flags_total", rule="unit-rule", partnership="unit-reading") == flags + 1


def test_origin_header_is_added_once_and_read_back() -> None:
    stamped = metrics.origin_headers(1_700_000_000.1234, [("vru-source", b"t:0:1")])
    assert stamped == [("vru-source", b"t:0:1"), ("vru-origin-ms", b"1700000000123")]
    assert metrics.origin_headers(1.0, stamped) == stamped  # a redelivery keeps the first
    assert metrics.origin_headers(None, [("a", b"b")]) == [("a", b"b")]
    assert metrics.origin_of(stamped) == 1_700_000_000.123
    assert metrics.origin_of([("vru-origin-ms", b"not-a-number")]) is None
    assert metrics.origin_of([]) is None


def test_publication_sets_sequence_and_delivery_lag_and_observes_latency() -> None:
    headers = [(CE_TIME, b"2026-11-24T11:59:57.500Z")]
    origins = metrics.OriginBook()
    origins.note("a1", metrics.origin_headers((NOW - timedelta(seconds=4)).timestamp()))
    origins.note("a2", [])  # no origin (a clock tick or a switch caused it)
    metrics.alert_published("unit-p", 7, headers, NOW, origins.take("a1"))
    assert value("vru_alert_last_seq", partnership="unit-p") == 7
    assert value("vru_alert_delivery_lag_seconds", partnership="unit-p") == 2.5
    metrics.alert_published("unit-p", 8, headers, NOW, origins.take("a2"))
    for bad in (b"yesterday", b"2026-11-24T11:59:59", b"\xff"):  # malformed or naive: no lag
        metrics.alert_published("unit-p", 9, [(CE_TIME, bad)], NOW)
    assert value("vru_alert_delivery_lag_seconds", partnership="unit-p") == 2.5
    assert origins.take("a1") is None  # taken once
    metrics.count_stream_record("unit-p", None)
    metrics.count_stream_record("unit-p", 9)
    assert value("vru_alerts_sequenced_total", partnership="unit-p") == 5
    assert value("vru_alerts_duplicate_dropped_total", partnership="unit-p") == 1
    assert value("vru_alert_latency_seconds_count", partnership="unit-p") == 1
    assert value("vru_alert_latency_seconds_sum", partnership="unit-p") == 4.0
    assert value("vru_alert_latency_seconds_bucket", partnership="unit-p", le="2.5") == 0
    assert value("vru_alert_latency_seconds_bucket", partnership="unit-p", le="5.0") == 1


def test_the_origin_book_is_bounded_oldest_first() -> None:
    origins = metrics.OriginBook(limit=2)
    for n in range(3):
        origins.note(f"a{n}", [("vru-origin-ms", str(1000 * (n + 1)).encode())])
    assert origins.take("a0") is None
    assert origins.take("a1") == 2.0
    assert origins.take("a2") == 3.0


def test_heartbeats_are_exported_for_every_partnership_from_the_start() -> None:
    metrics.partnerships_known(["unit-h1", "unit-h2"])
    assert (
        metrics.REGISTRY.get_sample_value(
            "vru_heartbeat_last_sent_timestamp_seconds", {"partnership": "unit-h2"}
        )
        == 0
    )
    metrics.heartbeat_sent("unit-h1", 4, NOW)
    assert value("vru_heartbeat_last_sent_timestamp_seconds", partnership="unit-h1") == (
        NOW.timestamp()
    )
    assert value("vru_alert_last_seq", partnership="unit-h1") == 4


def test_consumer_lag_is_the_true_end_minus_the_position() -> None:
    ends = {("feed", 0): 10, ("feed", 1): 5, ("accepted", 0): 3}
    positions = {("feed", 0): 4, ("feed", 1): 5, ("accepted", 0): None}
    lags = metrics.lag_of(ends, positions)
    assert lags == {("feed", 0): 6, ("feed", 1): 0, ("accepted", 0): 3}
    metrics.record_consumer_lag(lags)
    assert value("vru_consumer_lag", topic="feed", partition="0") == 6
    metrics.record_consumer_lag({("feed", 1): 2})  # a partition no longer held disappears
    assert (
        metrics.REGISTRY.get_sample_value("vru_consumer_lag", {"topic": "feed", "partition": "0"})
        is None
    )
    assert value("vru_consumer_lag", topic="feed", partition="1") == 2


def test_agreement_review_dates_and_overdue_flags() -> None:
    shipped = [a for _, a in load_directory(ROOT / "deploy" / "agreements").agreements]
    first = shipped[0].model_copy(update={"review_date": date(2026, 11, 23)})
    second = shipped[1].model_copy(update={"review_date": date(2026, 11, 24)})
    metrics.record_agreements([first, second], date(2026, 11, 24))
    assert value("vru_agreement_review_overdue", agreement=first.id) == 1
    assert value("vru_agreement_review_overdue", agreement=second.id) == 0  # due today
    assert value("vru_agreement_review_timestamp_seconds", agreement=second.id) == (
        datetime(2026, 11, 24, tzinfo=UTC).timestamp()
    )
    metrics.record_agreements([second], date(2026, 11, 24))
    gone = metrics.REGISTRY.get_sample_value(
        "vru_agreement_review_overdue", {"agreement": first.id}
    )
    assert gone is None


def test_no_label_carries_a_token_pseudonym_or_event_id() -> None:
    text = generate_latest(metrics.REGISTRY).decode()
    assert "lt1:" not in text
    assert "ps1:" not in text
    assert "0190f0c8-0000-7000-8000-000000000001" not in text
