"""``hub backtest`` delivers nothing to any partnership, even when it reads the broker (issue 17).

A month of the police feed and its partner events is sent to the feed topics as ``hub feed``
sends it (batch records), then backtested from those topics with ``--topics all``. The report
says flags would have been raised; yet afterwards the broker holds the same topics as before,
and every topic but the feeds (the partnerships' alert topics, accepted, outbox, decisions,
quarantine, the audit topics) is as empty as it was: the run wrote no record anywhere.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.backtest.batches import events_of
from hub.backtest.sources import Sealer, police_file
from hub.cli import app
from hub.config import Settings, settings_env
from hub.crypto import Keyring
from hub.crypto.batchrecord import is_batch_record
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from hub.transport.clients import new_admin
from hub.transport.kafka import KafkaTransport
from tests.integration.test_backtest_topics import publish
from tests.recent import MONTHS_BACK, month_start, police_head

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


async def send_month(settings: Settings, path: Path) -> int:
    """The month's events on their agencies' feed topics as the SDK sealed them for ``hub
    feed`` (batch records of up to 256 events, one signature each); how many events were sent."""
    [records] = police_file(Sealer(settings, Keyring.open(settings.keys_dir)), path, partners=True)
    assert any(is_batch_record(m.value) for _, m in records)
    await publish(settings, records, batches=False)  # each record as sealed, with its headers
    return sum(len(events_of(m)) for _, m in records)


async def broker_state(settings: Settings) -> tuple[set[str], dict[str, int]]:
    """The test's topics on the broker, and the records each holds (its partitions' ends)."""
    endpoint = kafka_endpoint(settings)
    admin = new_admin(endpoint)
    try:
        await admin.start()
        names = {t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)}
    finally:
        await admin.close()
    transport = KafkaTransport(endpoint)
    try:
        held = {name: sum((await transport.end_offsets(name)).values()) for name in names}
    finally:
        await transport.close()
    return names, held


def test_a_backtest_from_the_feed_topics_writes_no_record_anywhere(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    registry = load_registry(s.deploy_dir / "registry.yaml")
    asyncio.run(create_topics(kafka_endpoint(s), plan_topics(s, registry)))
    sent = asyncio.run(send_month(s, police_head(tmp_path / "police.csv", 600)))
    feeds = {s.feed_topic(a.id) for a in registry.agencies}
    names, before = asyncio.run(broker_state(s))
    assert feeds <= names
    assert sum(before[f] for f in feeds) > 0  # the month is on the feeds
    others = names - feeds
    assert {s.alert_topic(p.id) for p in registry.partnerships} <= others
    assert {s.accepted_topic, s.outbox_topic, s.decisions_topic, s.quarantine_topic} <= others
    assert all(before[t] == 0 for t in others)

    first, last = month_start(MONTHS_BACK + 1).isoformat(), datetime.now(UTC).date().isoformat()
    out = tmp_path / "out"
    args = ["backtest", "--from", first, "--to", last, "--topics", "all", "--out", str(out)]
    result = CliRunner().invoke(app, args, env=settings_env(s))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1])["read"] == sent

    report = json.loads((out / "backtest.json").read_text())
    raised = [row["alerts"]["flag.raised"]["text"] for row in report["rows"]]
    assert any(text != "0" for text in raised)  # flags the live hub would have delivered
    assert asyncio.run(broker_state(s)) == (names, before)  # no topic made, no record written
