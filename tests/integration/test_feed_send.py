"""``hub feed send`` and ``hub feed police`` on the real broker, through a real worker."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import feed
from hub.config import Settings, settings_env
from hub.process import start_worker, stop_process
from hub.quarantine import QuarantineRecord
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from tests.integration.events import accepted_ids, accepted_types
from tests.integration.kafka import consume, wait_for
from tests.recent import police_head

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

DATA = Path(__file__).resolve().parents[1] / "unit" / "agency" / "data"


def run_feed(settings: Settings, *args: str) -> tuple[int, dict[str, Any]]:
    """Invoke ``hub feed ...`` with the settings in the environment; exit code and summary."""
    result = CliRunner().invoke(feed.app, list(args), env=settings_env(settings))
    lines = [x for x in result.output.splitlines() if x.startswith("{")]
    assert lines, result.output
    return result.exit_code, json.loads(lines[-1])


def setup_topics(settings: Settings) -> None:
    registry = load_registry(settings.deploy_dir / "registry.yaml")
    asyncio.run(create_topics(kafka_endpoint(settings), plan_topics(settings, registry)))


def test_feed_send_csv_with_mapping_reaches_the_partnership_and_a_resend_is_caught(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    setup_topics(s)
    rejects = tmp_path / "rejects.jsonl"
    args = ["send", "--agency", "education", "--file", str(DATA / "school-suspensions.csv")]
    args += ["--mapping", str(DATA / "school-suspensions.yaml"), "--rejects", str(rejects)]
    code, summary = run_feed(s, *args)
    assert code == feed.EXIT_REJECTS
    assert (summary["rows"], summary["sent"], summary["rejected"]) == (8, 2, 6)
    lines = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [x["line"] for x in lines] == [3, 4, 5, 6, 7, 8]
    assert lines[0]["reason"] == "invalid_identifier"
    assert lines[0]["row"]["Ref"] == "1002"
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    run_feed(s, *args)  # the same file again: same event ids

    worker = start_worker(s, tmp_path / "worker.log")
    try:
        accepted = asyncio.run(
            wait_for(s, [s.accepted_topic], lambda r: len(accepted_ids(r)) >= 2, timeout_s=45)
        )
        quarantined = asyncio.run(consume(s, [s.quarantine_topic], until=2, timeout_s=20))
    finally:
        assert stop_process(worker) == 0
    assert accepted_types(accepted) == ["education.suspension"] * 2
    reasons = [QuarantineRecord.from_bytes(q.value).reason for q in quarantined]
    assert reasons == ["duplicate_event", "duplicate_event"]


def test_police_replay_with_partner_events_is_accepted_without_quarantine(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    setup_topics(s)
    head = police_head(tmp_path / "police-head.csv", 400)  # the month moved to 4 months ago
    code, summary = run_feed(s, "police", "--file", str(head), "--partners", "--batch-size", "64")
    assert code == 0
    agencies = summary["agencies"]
    assert isinstance(agencies, dict)
    sent = {a: r["sent"] for a, r in agencies.items()}
    assert sent["police"] > 50
    assert len(sent) > 2
    assert all(r["rejected"] == 0 for r in agencies.values())
    # The police month is four months back: every one of its events is already outside every
    # rule's window (90 days at most), and the command says so.
    assert agencies["police"]["outside_every_window"] == sent["police"]
    _, again = run_feed(s, "police", "--file", str(head), "--partners", "--batch-size", "64")
    assert again["agencies"] == agencies  # deterministic: same rows, same events

    total = sum(sent.values())
    worker = start_worker(s, tmp_path / "worker.log")
    try:
        quarantined = asyncio.run(consume(s, [s.quarantine_topic], until=total, timeout_s=60))
        accepted = asyncio.run(consume(s, [s.accepted_topic], until=total + 1, timeout_s=5))
    finally:
        assert stop_process(worker) == 0
    assert len(accepted_ids(accepted)) == total  # the second replay's events are all duplicates
    reasons = {QuarantineRecord.from_bytes(q.value).reason for q in quarantined}
    assert reasons == {"duplicate_event"}
    assert len(quarantined) == total
