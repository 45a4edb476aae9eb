"""The first real path: an agency event through a real faust worker to partnership topics."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from hub.config import Settings
from hub.process import start_worker, stop_process
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics
from tests.integration.events import OXFORDSHIRE_LSOA, READING_LSOA, WOKINGHAM_LSOA, one
from tests.integration.kafka import consume, produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def processed_events(log: Path) -> dict[str, dict[str, object]]:
    """event_processed lines of the worker log, by event id."""
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    return {str(x["event_id"]): x for x in lines if x.get("event") == "event_processed"}


async def test_allowed_events_reach_their_partnership_and_nothing_else(
    hub_settings: Settings, tmp_path: Path
) -> None:
    registry = load_registry(hub_settings.deploy_dir / "registry.yaml")
    await create_topics(hub_settings.broker_url, plan_topics(hub_settings, registry))
    s = hub_settings
    police_reading = one(s, "police.violent_incident", "police", READING_LSOA, 1)
    education_reading = one(s, "education.suspension", "education", READING_LSOA, 2)
    police_wokingham = one(s, "police.violent_incident", "police", WOKINGHAM_LSOA, 3)
    health_oxon = one(s, "health.ed_assault", "health", OXFORDSHIRE_LSOA, 4)
    await produce(hub_settings.broker_url, hub_settings.feed_topic("police"), [police_reading])
    await produce(
        hub_settings.broker_url, hub_settings.feed_topic("education"), [education_reading]
    )
    await produce(hub_settings.broker_url, hub_settings.feed_topic("police"), [police_wokingham])
    await produce(hub_settings.broker_url, hub_settings.feed_topic("health"), [health_oxon])

    log = tmp_path / "worker.log"
    started = time.monotonic()
    worker = start_worker(hub_settings, log)
    try:
        reading = await consume(
            hub_settings.broker_url, [hub_settings.alert_topic("reading")], until=2, timeout_s=40
        )
        first_alert_s = time.monotonic() - started
        deadline = time.monotonic() + 20
        while len(processed_events(log)) < 4 and time.monotonic() < deadline:  # noqa: ASYNC110  # polls a file another process writes
            await asyncio.sleep(0.2)
    finally:
        assert stop_process(worker) == 0
    print(f"worker start to first delivered alert: {first_alert_s:.2f}s")  # noqa: T201  # figure for the issue note

    alerts = sorted((json.loads(r.value) for r in reading), key=lambda a: a["event_type"])
    assert [a["event_type"] for a in alerts] == ["education.suspension", "police.violent_incident"]
    assert {a["council"] for a in alerts} == {"E06000038"}
    outcomes = processed_events(log)
    assert len(outcomes) == 4
    assert sorted(o["reason"] for o in outcomes.values()) == [
        "delivered",
        "delivered",
        "no_recipient",
        "no_recipient",
    ]
    others = [hub_settings.alert_topic(p.id) for p in registry.partnerships if p.id != "reading"]
    assert await consume(hub_settings.broker_url, others, until=1, timeout_s=2) == []
