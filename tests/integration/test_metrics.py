"""The worker's monitoring port on the real broker: /metrics after a three-agency flow, with no
personal value in any label, and /healthz and /readyz around recovery and rebalances."""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from hub.broker import free_port
from hub.config import Settings
from hub.dsa import AgreementBook, load_directory
from hub.process import start_worker, stop_process
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from tests.integration.events import READING_LSOA, STORE, one, token_for
from tests.integration.flows import alerts_only, open_records, prepare, scenario
from tests.integration.kafka import consume, produce

pytestmark = [pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def get(port: int, path: str) -> tuple[int, str]:
    """Status and body of one of our own loopback endpoints (an HTTP error is an answer too)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> Samples:
    """Every sample of a scrape, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


async def scrape_until(port: int, done: Callable[[Samples], bool], timeout_s: float) -> Samples:
    """Scrape until ``done`` holds (or the time is up); returns the last scrape."""
    deadline = time.monotonic() + timeout_s
    found: Samples = {}
    while time.monotonic() < deadline:
        try:
            found = samples(get(port, "/metrics")[1])
        except OSError:
            found = {}
        if found and done(found):
            break
        await asyncio.sleep(0.5)
    return found


async def probe_until_ready(port: int, timeout_s: float) -> list[tuple[int, list[str]]]:
    """Poll /readyz until it answers 200; every distinct answer on the way, in order."""
    seen: list[tuple[int, list[str]]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            status, body = get(port, "/readyz")
        except OSError:
            await asyncio.sleep(0.1)
            continue
        answer = (status, json.loads(body)["reasons"])
        if not seen or seen[-1] != answer:
            seen.append(answer)
        if status == 200:
            break
        await asyncio.sleep(0.1)
    return seen


@pytest.mark.timeout(90)
async def test_ingest_outcomes_are_counted_by_agency_and_quarantine_by_reason(
    hub_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    s = hub_settings.model_copy(update={"metrics_port": port})
    await create_topics(
        kafka_endpoint(s), plan_topics(s, load_registry(s.deploy_dir / "registry.yaml"))
    )
    good = one(s, "police.arrest", "police", READING_LSOA, 31)
    await produce(s, s.feed_topic("police"), [good, (b"\xc3\x01junk", []), good])
    worker = start_worker(s, tmp_path / "worker.log")
    key = ("vru_quarantined_total", "police", "duplicate_event")
    try:
        found = await scrape_until(
            port,
            lambda f: sample(f, key[0], step="ingest", agency=key[1], reason=key[2]) == 1,
            timeout_s=40,
        )
    finally:
        assert stop_process(worker) == 0
    assert sample(found, "vru_ingest_events_total", agency="police", outcome="accepted") == 1
    assert sample(found, "vru_ingest_events_total", agency="police", outcome="quarantined") == 2
    for reason in ("decode_error", "duplicate_event"):
        labels = {"step": "ingest", "agency": "police", "reason": reason}
        assert sample(found, "vru_quarantined_total", **labels) == 1
    assert not any(token_for(31) in value for _, labels in found for _, value in labels)


def flowed(f: Samples) -> bool:
    """The three-agency flow has reached every series the test checks."""
    return (
        sample(f, "vru_alert_latency_seconds_count", partnership="reading") == 2
        and (sample(f, "vru_heartbeat_last_sent_timestamp_seconds", partnership="reading") or 0) > 0
        and (sample(f, "vru_audit_tree_head_size") or 0) > 0
        and any(name == "vru_consumer_lag" for name, _ in f)
        and sample(f, "vru_worker_ready") == 1
        and any(name == "vru_records_refused_total" for name, _ in f)
    )


@pytest.mark.timeout(150)
async def test_a_three_agency_flow_shows_in_every_series_without_personal_values(
    hub_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    s = hub_settings.model_copy(
        update={"metrics_port": port, "alert_heartbeat_s": 1.0, "head_interval_s": 1.0}
    )
    await prepare(s)
    events = scenario(s, subject=1, lsoa=READING_LSOA)
    worker = start_worker(s, tmp_path / "worker.log")
    try:
        readiness = await probe_until_ready(port, timeout_s=60)
        live = get(port, "/healthz")
        for agency, message in events:
            await produce(s, s.feed_topic(agency), [message])
        await produce(s, s.feed_topic("police"), [(b"\xc3\x01junk", [])])
        await produce(s, s.accepted_topic, [(b"forged", [])])  # refused, counted
        reading = await consume(s, [s.alert_topic("reading")], until=2, timeout_s=60)
        found = await scrape_until(port, flowed, timeout_s=40)
        text = get(port, "/metrics")[1]
    finally:
        assert stop_process(worker) == 0

    # readiness: not ready while joining and recovering, then ready; live all along
    assert readiness[0][0] == 503
    assert readiness[0][1]  # a reason is named
    assert readiness[-1] == (200, [])
    assert live == (200, '{"ok": true, "reasons": []}')
    opened = open_records(s, "reading", alerts_only(reading))
    check_counts(s, found)
    check_alert_series(s, found, max(a.seq for a in opened))
    check_gauges(s, found)
    personal = {token_for(1)} | {a.body.subject for a in opened} | {a.alert_id for a in opened}
    check_no_personal_value(found, text, personal | event_ids(events))
    check_rules_use_exported_series(found)


def event_ids(events: list[tuple[str, tuple[bytes, list[tuple[str, bytes]]]]]) -> set[str]:
    """The event ids of the flow's sealed messages."""
    return {str(STORE.decode(value).record["envelope"]["event_id"]) for _, (value, _) in events}


def labelled(found: Samples, name: str, **match: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of ``name`` whose labels include ``match``."""
    return {
        labels: v
        for (n, labels), v in found.items()
        if n == name and match.items() <= dict(labels).items()
    }


def check_counts(s: Settings, found: Samples) -> None:
    """Events by agency and outcome, quarantine by reason, flags and decisions."""
    for agency, count in (("childrens-social-care", 2), ("police", 1), ("education", 1)):
        assert sample(found, "vru_ingest_events_total", agency=agency, outcome="accepted") == count
    junk = {"step": "ingest", "agency": "police", "reason": "decode_error"}
    assert sample(found, "vru_quarantined_total", **junk) == 1
    forged = {"topic": s.accepted_topic, "reason": "malformed_record"}
    assert sample(found, "vru_records_refused_total", **forged) == 1
    for rule in ("child-exploitation", "weapon-and-exclusion"):
        assert sample(found, "vru_flags_total", rule=rule, partnership="reading") == 1
    permits = labelled(found, "vru_decisions_total", partnership="reading", outcome="permit")
    shipped = {a.id for _, a in load_directory(s.deploy_dir / "agreements").agreements}
    assert sum(permits.values()) == 2
    for labels in permits:
        assert set(dict(labels)["agreement"].split("+")) <= shipped


def check_alert_series(s: Settings, found: Samples, last_seq: int) -> None:
    """Sequence, delivery lag, latency from the agency's send, heartbeats."""
    assert sample(found, "vru_alerts_sequenced_total", partnership="reading") == 2
    assert sample(found, "vru_alert_last_seq", partnership="reading") == last_seq
    assert (sample(found, "vru_alert_delivery_lag_seconds", partnership="reading") or -1) >= 0
    assert (sample(found, "vru_alert_latency_seconds_sum", partnership="reading") or 0) > 0
    assert sample(found, "vru_alert_latency_seconds_bucket", partnership="reading", le="+Inf") == 2
    for p in load_registry(s.deploy_dir / "registry.yaml").partnerships:
        beat = sample(found, "vru_heartbeat_last_sent_timestamp_seconds", partnership=p.id)
        assert beat is not None, p.id  # every partnership's series exists


def check_gauges(s: Settings, found: Samples) -> None:
    """Consumer lag per feed partition (drained), agreements in force, the audit head."""
    feed_lag = labelled(found, "vru_consumer_lag", topic=s.feed_topic("police"))
    assert sorted(dict(k)["partition"] for k in feed_lag) == [str(p) for p in range(s.partitions)]
    assert not any(
        dict(k)["topic"].endswith("-changelog") for k in labelled(found, "vru_consumer_lag")
    )
    overdue = {
        dict(k)["agreement"]: v for k, v in labelled(found, "vru_agreement_review_overdue").items()
    }
    assert "tv-police-svd" in overdue
    assert "tv-police-knife-pilot" not in overdue  # ended in 2025: not in force
    # Which reviews are overdue depends on the date: the expectation is computed for today.
    book = AgreementBook.from_agreements(
        a for _, a in load_directory(s.deploy_dir / "agreements").agreements
    )
    now = datetime.now(UTC)
    assert overdue == {a.id: float(a.review_date < now.date()) for a in book.in_force(now)}
    assert (sample(found, "vru_audit_ledger_entries") or 0) >= 2
    assert (sample(found, "vru_audit_tree_head_timestamp_seconds") or 0) > 0


def check_no_personal_value(found: Samples, text: str, personal: set[str]) -> None:
    """No label value is a token, pseudonym, event id or alert id of the flow."""
    values = {v for _, labels in found for _, v in labels}
    assert len(personal) > 3
    assert not values & personal
    assert not any(re.search(r"lt1:|ps1:|[0-9a-f]{8}-[0-9a-f]{4}-7", v) for v in values)
    assert not any(p in text for p in personal)


def check_rules_use_exported_series(found: Samples) -> None:
    """Every vru_ series an alert rule names is one this worker exported."""
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    named = {
        m
        for group in rules["groups"]
        for rule in group["rules"]
        for m in re.findall(r"\bvru_[a-z0-9_]+\b", rule["expr"])
    }
    assert len(named) >= 6
    assert named <= {name for name, _ in found}


async def answers_until(
    port: int, done: Callable[[list[tuple[int, list[str]]]], bool], timeout_s: float
) -> tuple[list[tuple[int, list[str]]], set[int]]:
    """Distinct /readyz answers until ``done`` holds, and every /healthz status meanwhile."""
    seen: list[tuple[int, list[str]]] = []
    live: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not done(seen):
        status, body = get(port, "/readyz")
        answer = (status, json.loads(body)["reasons"])
        if not seen or seen[-1] != answer:
            seen.append(answer)
        live.add(get(port, "/healthz")[0])
        await asyncio.sleep(0.1)
    return seen, live


def unready_then_ready(seen: list[tuple[int, list[str]]]) -> bool:
    return any(code == 503 for code, _ in seen) and bool(seen) and seen[-1][0] == 200


@pytest.mark.timeout(150)
async def test_a_worker_is_not_ready_while_a_second_worker_joins_then_ready_again(
    hub_settings: Settings, tmp_path: Path
) -> None:
    first = hub_settings.model_copy(update={"metrics_port": free_port()})
    second = hub_settings.model_copy(
        update={"metrics_port": free_port(), "state_dir": tmp_path / "state-2"}
    )
    await prepare(first)
    one_worker = start_worker(first, tmp_path / "worker-1.log")
    two_workers = None
    try:
        assert (await probe_until_ready(first.metrics_port, timeout_s=60))[-1] == (200, [])
        two_workers = start_worker(second, tmp_path / "worker-2.log")
        seen, live = await answers_until(first.metrics_port, unready_then_ready, timeout_s=60)
        joined = await probe_until_ready(second.metrics_port, timeout_s=30)
    finally:
        codes = [stop_process(p) for p in (two_workers, one_worker) if p is not None]
    assert codes == [0, 0]
    assert seen[0] == (200, [])
    assert any(code == 503 and "rebalancing" in reasons for code, reasons in seen), seen
    assert seen[-1] == (200, [])
    assert live == {200}  # live throughout the rebalance
    assert joined[-1] == (200, [])
