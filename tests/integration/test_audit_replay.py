"""`hub audit replay` on a real ledger written by a worker on the real broker: agreement versions
switched mid-stream, every decision re-derived; an exported copy with one corrupted decision
is reported field by field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.config import Settings, settings_env
from hub.dsa import load_directory
from hub.process import stop_process
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from hub.transport.agreements import publish_agreements
from tests.integration.events import READING_LSOA
from tests.integration.flows import scenario, worker
from tests.integration.kafka import consume, produce, read_to_end

pytestmark = [pytest.mark.integration, pytest.mark.timeout(200)]


def audit(settings: Settings, *args: str) -> tuple[int, dict[str, Any]]:
    """Run ``hub audit ARGS --json``; its exit code and JSON result."""
    env = {**os.environ, **settings_env(settings)}
    done = subprocess.run(  # fixed argument list: this interpreter, our module
        [sys.executable, "-m", "hub.cli", "audit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    return done.returncode, json.loads(lines[-1])


def export_to(settings: Settings, directory: Path) -> None:
    """Run ``hub audit export --out DIRECTORY``."""
    subprocess.run(  # fixed argument list: this interpreter, our module
        [sys.executable, "-m", "hub.cli", "audit", "export", "--out", str(directory)],
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        timeout=120,
        check=True,
    )


def when(decision: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(decision["decided_at"])


async def test_replay_re_derives_a_real_ledger_and_names_a_corrupted_decision(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await create_topics(
        kafka_endpoint(s), plan_topics(s, load_registry(s.deploy_dir / "registry.yaml"))
    )
    every = [a for _, a in load_directory(s.deploy_dir / "agreements").agreements]
    first = [a for a in every if not a.id.startswith("tv-police")]
    await publish_agreements(
        kafka_endpoint(s), s.agreements_topic, s.accepted_topic, first, datetime.now(UTC)
    )
    proc = worker(s, tmp_path / "worker.log")
    try:
        for subject in (11, 12):
            for agency, message in scenario(s, subject=subject, lsoa=READING_LSOA):
                await produce(s, s.feed_topic(agency), [message])
        await consume(s, [s.decisions_topic], until=36, timeout_s=60)
        await publish_agreements(
            kafka_endpoint(s), s.agreements_topic, s.accepted_topic, every, datetime.now(UTC)
        )
        await consume(s, [s.alert_topic("reading")], until=4, timeout_s=60)
    finally:
        assert stop_process(proc) == 0
    decisions = await read_to_end(s, [s.decisions_topic])  # final: the worker stopped
    found = [json.loads(r.value or b"{}") for r in decisions]
    assert len({d["policy_sequence"] for d in found}) == 2
    assert {d["outcome"] for d in found} == {"permit", "deny"}

    code, result = audit(s, "replay", "--json")
    assert (code, result["ok"]) == (0, True), result["mismatches"][:5]
    assert result["entries"] == len({d["decision_id"] for d in found})
    assert result["summary"]["by_partnership"]["reading"]["permit"] >= 4
    assert result["summary"]["by_denial_reason"]["no_agreement_in_force"] > 0

    export = tmp_path / "export"
    export_to(s, export)
    code, offline = audit(s, "replay", "--json", "--from-dir", str(export))
    assert (code, offline["entries"]) == (0, result["entries"])

    lines = (export / "decisions.jsonl").read_text().splitlines()
    target = next(n for n, line in enumerate(lines) if json.loads(line)["outcome"] == "permit")
    raw = json.loads(lines[target])
    raw["decisions"][0]["agreement_version"] = 7
    lines[target] = json.dumps(raw)
    (export / "decisions.jsonl").write_text("\n".join(lines) + "\n")
    code, tampered = audit(s, "replay", "--json", "--from-dir", str(export))
    assert code == 1
    assert tampered["mismatched_entries"] == 1
    [mismatch] = tampered["mismatches"]
    assert mismatch["decision_id"] == raw["decision_id"]
    assert mismatch["field"] == "decisions[0].agreement_version"
    assert mismatch["recorded"] == 7
    assert mismatch["derived"] != 7

    newest = max(d["policy_sequence"] for d in found)
    switched = min(when(d) for d in found if d["policy_sequence"] == newest)
    code, later = audit(s, "replay", "--json", "--from", switched.isoformat())
    assert code == 0
    assert later["entries"] == len({d["decision_id"] for d in found if when(d) >= switched})
    assert 0 < later["entries"] < result["entries"]
