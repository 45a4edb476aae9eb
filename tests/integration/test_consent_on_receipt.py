"""Withdrawal takes effect when the hub receives it, whatever the backlog on its feed.

A withdrawal is appended behind 10,000 records on the voluntary-sector feed; 100 ms after the
broker acknowledged it, a police event that would complete a flag resting on the consent is
sent. Ingest reaches the police event long before the withdrawal, yet Reading must never
receive the flag: the worker deciding it reads the consent feed to its true end first. The
same with two workers, and `hub audit replay` re-derives every decision and checks its
watermark against the feed itself.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.alerts import AlertKind
from hub.config import Settings
from hub.process import stop_process
from hub.transport import kafka_endpoint, new_producer
from tests.integration.events import (
    READING_LSOA,
    AcceptedIds,
    Message,
    accepted_ids,
    decisions_of,
    record,
    sealed,
)
from tests.integration.flows import prepare, worker
from tests.integration.kafka import produce, read_to_end, wait_for
from tests.integration.test_consent_withdrawal import (
    RULE,
    cli,
    consent_message,
    reading_kinds,
    subject_event,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
BACKLOG = 10_000
ENGAGEMENT = "voluntary.engagement"


def backlog(s: Settings) -> list[Message]:
    """10,000 valid sealed engagements of other young people, contributing to no flag.

    Valid, so that ingest does its full work on each (decode, validate, verify the seal, accept):
    the backlog delays the withdrawal as a real one would.
    """
    now = datetime.now(UTC)
    items = [
        (
            ENGAGEMENT,
            record(
                ENGAGEMENT,
                "voluntary-sector",
                READING_LSOA,
                100_000 + n,
                occurred=now - timedelta(days=1, seconds=n),
                fields={"stage": "ENGAGED"},
            ),
        )
        for n in range(BACKLOG)
    ]
    return sealed(s, "voluntary-sector", items)


async def send_behind_backlog(s: Settings, withdrawn: Message) -> tuple[int, float]:
    """10,000 records then the withdrawal on feed partition 0; its offset and ack time."""
    before = backlog(s)
    producer = new_producer(kafka_endpoint(s), acks="all", linger_ms=5, max_batch_size=1_000_000)
    topic = s.feed_topic("voluntary-sector")
    await producer.start()
    try:
        pending = [
            await producer.send(topic, value, partition=0, headers=headers)
            for value, headers in before
        ]
        value, headers = withdrawn
        sent = await producer.send_and_wait(topic, value, partition=0, headers=headers)
        acked = time.monotonic()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent.offset, acked


def police_decision(records: Any, event_id: str) -> list[dict[str, Any]]:
    found = decisions_of(records)
    return [d for d in found if d["recipient"] == "reading" and event_id in d["events"]]


async def run_on_receipt(s: Settings, logs: list[Path]) -> None:
    """Consent, a consented event, the withdrawal behind a backlog, then the police event."""
    await prepare(s)
    given, given_id = consent_message(s, "c-61", given=True)
    withdrawn, withdrawn_id = consent_message(s, "c-61", given=False)
    disengaged, disengaged_id = subject_event(
        s, "voluntary.engagement", "voluntary-sector", 6101, 6, stage="DISENGAGED"
    )
    weapon, weapon_id = subject_event(s, "police.weapon_possession", "police", 6102, 4)
    procs = [worker(s, log) for log in logs]
    try:
        await produce(s, s.feed_topic("voluntary-sector"), [given, disengaged])
        wanted = {given_id, disengaged_id}
        await wait_for(s, [s.accepted_topic], lambda r: wanted <= set(accepted_ids(r)), 120)
        offset, acked = await send_behind_backlog(s, withdrawn)
        await asyncio.sleep(max(0.0, acked + 0.1 - time.monotonic()))
        await produce(s, s.feed_topic("police"), [weapon])
        await wait_for(s, [s.decisions_topic], lambda r: bool(police_decision(r, weapon_id)))
        behind = AcceptedIds()  # the backlog's 10,000 records are decoded once, not per poll
        await wait_for(s, [s.accepted_topic], lambda r: withdrawn_id in behind(r), 120)
    finally:
        for proc in procs:
            assert stop_process(proc) == 0
    accepted = await read_to_end(s, [s.accepted_topic])
    order = [i for r in accepted for i in accepted_ids([r])]
    times = {i: r.timestamp for r in accepted for i in accepted_ids([r])}
    assert times[weapon_id] < times[withdrawn_id], "the backlog must delay the withdrawal"
    assert weapon_id in order
    alerts = await read_to_end(s, [s.alert_topic("reading")])
    assert (RULE, AlertKind.RAISED) not in reading_kinds(s, alerts)
    decided = [
        d
        for d in police_decision(await read_to_end(s, [s.decisions_topic]), weapon_id)
        if d["rule_id"] == RULE
    ]
    assert decided, "the police event must have been decided for Reading"
    assert {d["outcome"] for d in decided} == {"deny"}
    decision = decided[0]  # the first: taken when the police event was folded
    assert decision["outcome"] == "deny"
    assert [(c["status"], c["ended_event"]) for c in decision["consents"]] == [
        ("withdrawn", withdrawn_id)
    ]
    read = decision["consent_read"]
    assert withdrawn_id in read["ends"]
    [mark] = [m for m in read["watermark"] if m["partition"] == 0]
    assert mark["offset"] > offset, "the watermark must reach past the withdrawal"
    replayed = cli(s, "replay", "--json")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    report = json.loads(replayed.stdout)
    assert report["ok"] is True
    # Replay read the voluntary-sector feed itself: the backlog, the consent, the withdrawal
    # (every end authenticated), and checked each watermark against it, none trimmed.
    checked = report["watermark"]
    assert checked["feed_records"] == BACKLOG + 3
    assert checked["refused_ends"] == 0
    assert checked["checked"] >= 1
    assert checked["not_checkable"] == 0


async def test_withdrawal_behind_a_backlog_stops_disclosure_at_once(
    hub_settings: Settings, tmp_path: Path
) -> None:
    await run_on_receipt(hub_settings, [tmp_path / "worker.log"])


async def test_withdrawal_on_receipt_with_two_workers(
    hub_settings: Settings, tmp_path: Path
) -> None:
    await run_on_receipt(hub_settings, [tmp_path / "worker-a.log", tmp_path / "worker-b.log"])
