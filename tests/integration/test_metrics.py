"""The worker's Prometheus endpoint counts ingest outcomes by agency and reason, with no
personal value in any label."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path

import pytest

from hub.broker import free_port
from hub.config import Settings
from hub.process import start_worker, stop_process
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics
from tests.integration.events import READING_LSOA, one, token_for
from tests.integration.kafka import produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def scrape(port: int) -> str:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/metrics", timeout=2
    ) as response:  # our own loopback endpoint
        return str(response.read().decode())


async def test_ingest_outcomes_are_counted_by_agency_and_reason(
    hub_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    s = hub_settings.model_copy(update={"metrics_port": port})
    await create_topics(s.broker_url, plan_topics(s, load_registry(s.deploy_dir / "registry.yaml")))
    good = one(s, "police.arrest", "police", READING_LSOA, 31)
    await produce(s.broker_url, s.feed_topic("police"), [good, (b"\xc3\x01junk", []), good])
    worker = start_worker(s, tmp_path / "worker.log")
    text = ""
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and 'outcome="duplicate_event"' not in text:
            await asyncio.sleep(0.5)
            try:
                text = scrape(port)
            except OSError:
                continue
    finally:
        assert stop_process(worker) == 0
    assert 'vru_ingest_events_total{agency="police",outcome="accepted"} 1.0' in text
    assert 'vru_ingest_events_total{agency="police",outcome="decode_error"} 1.0' in text
    assert 'vru_ingest_events_total{agency="police",outcome="duplicate_event"} 1.0' in text
    assert token_for(31) not in text
