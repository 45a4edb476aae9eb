"""No raw identifier given to the SDK appears in any topic, log, metric or report.

A demo-like flow (police replay with partner events through ``hub feed police``) plus rows
about a canary person sent with ``hub feed send``. Then every form of the canary's
identifiers is searched for in:

* every topic the hub uses, read from offset 0 (keys, values and headers);
* the worker's log and the output of every command run;
* the worker's Prometheus endpoint (``HUB_METRICS_PORT``), names, labels and values;
* the reports: ``hub audit export`` (every file), ``hub audit report`` (HTML and JSON),
  ``hub quarantine list --json``.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.broker import free_port
from hub.cli import app as hub_app
from hub.cli import feed
from hub.config import Settings, settings_env
from hub.correlation import SUBJECTS
from hub.process import start_worker, stop_process
from hub.registry import load_registry
from hub.sna.stream import TABLE as SNA_TABLE
from hub.topics import plan_topics
from tests.integration.events import READING_LSOA, accepted_ids
from tests.integration.flows import prepare, scenario
from tests.integration.kafka import consume, produce, read_to_end, read_until
from tests.recent import police_head
from tests.unit.agency.conftest import CANARY, leaks

pytestmark = [pytest.mark.integration, pytest.mark.timeout(200)]


def canary_rows() -> list[dict[str, object]]:
    """Four school rows about the canary person, dated relative to the run (never a calendar
    date the suite will pass by): two good, one with a bad postcode, one of another agency's
    type."""
    start = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    start -= timedelta(days=60)

    def on(days: int) -> str:
        return (start + timedelta(days=days)).isoformat()

    base = {
        "event_type": "education.suspension",
        "lsoa": "E01016353",
        "given_name": CANARY["given_name"],
        "family_name": CANARY["family_name"],
        "date_of_birth": "14/02/2009",  # the canary's own (CANARY_FORMS looks for it)
        "postcode": CANARY["postcode"],
        "kind": "SUSPENSION",
        "reason": "USE_OR_THREAT_OF_USE_OF_AN_OFFENSIVE_WEAPON",
        "sessions": 6,
        "phase": "SECONDARY",
        "sen_provision": "NONE",
        "free_school_meals": True,
    }
    return [
        base | {"source_ref": "c-1", "occurred_at": on(0)},
        base | {"source_ref": "c-2", "occurred_at": on(17)},
        base | {"source_ref": "c-3", "occurred_at": on(18), "postcode": "ZZ"},
        base
        | {
            "source_ref": "c-4",
            "occurred_at": on(19),
            "nhs_number": CANARY["nhs_number"],
            "event_type": "csc.referral",
        },
    ]


#: Everything the commands printed, searched at the end.
OUTPUTS: list[str] = []


def invoke(settings: Settings, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(feed.app, list(args), env=settings_env(settings))
    assert result.exit_code in (0, feed.EXIT_REJECTS), result.output
    OUTPUTS.append(result.output)
    return json.loads(result.output.splitlines()[-1])


def hub(settings: Settings, *args: str) -> str:
    """Run ``hub ARGS``; its output (stdout and stderr)."""
    result = CliRunner().invoke(hub_app, list(args), env=settings_env(settings))
    assert result.exit_code == 0, result.output
    OUTPUTS.append(result.output)
    return result.output


def scrape(port: int) -> str:
    """The worker's /metrics, once it counts ingest outcomes."""
    deadline, text = time.monotonic() + 30, ""
    while time.monotonic() < deadline and "vru_ingest_events_total{" not in text:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                text = r.read().decode()
        except OSError:
            time.sleep(0.5)
    return text


def reports(settings: Settings, tmp_path: Path) -> dict[str, bytes]:
    """Every report the hub's tools make about this flow, by name."""
    export = tmp_path / "export"
    hub(settings, "audit", "export", "--out", str(export))
    found = {f"export/{f.name}": f.read_bytes() for f in sorted(export.rglob("*")) if f.is_file()}
    html = tmp_path / "report.html"
    found["audit report --json"] = hub(settings, "audit", "report", "--json", "--out", str(html))
    found["audit report html"] = html.read_bytes()
    found["quarantine list"] = hub(settings, "quarantine", "list", "--json", "--wait", "1")
    # Paths the tools echo are the test's own; a temp dir's name must not look like a leak.
    return {
        name: (blob.encode() if isinstance(blob, str) else blob).replace(bytes(tmp_path), b"TMP")
        for name, blob in found.items()
    }


def test_no_raw_identifier_reaches_any_topic_log_metric_or_report(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings.model_copy(
        # DEBUG: the per-event log lines are checked for leaks too
        update={"metrics_port": free_port(), "head_interval_s": 1.0, "log_level": "DEBUG"}
    )
    registry = load_registry(s.deploy_dir / "registry.yaml")
    asyncio.run(prepare(s))  # topics and agreements: decisions get made and audited
    head = police_head(tmp_path / "police.csv", 300)  # the month moved to 4 months ago
    replay = invoke(s, "police", "--file", str(head), "--partners")
    rows = tmp_path / "school.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in canary_rows()), encoding="utf-8")
    sent = invoke(s, "send", "--agency", "education", "--file", str(rows))
    assert (sent["sent"], sent["rejected"]) == (2, 2)  # bad postcode; csc.referral not education's
    agencies = replay["agencies"]
    assert isinstance(agencies, dict)
    flagged = scenario(s, 77, READING_LSOA)  # a subject whose events raise flags: decisions
    for agency, message in flagged:
        asyncio.run(produce(s, s.feed_topic(agency), [message]))
    total = 2 + len(flagged) + sum(r["sent"] for r in agencies.values())

    log = tmp_path / "worker.log"
    worker = start_worker(s, log)
    try:
        accepted = asyncio.run(
            read_until(
                s,
                [s.accepted_topic],
                lambda records: len(accepted_ids(records)) >= total,
                timeout_s=60,
            )
        )
        metrics = scrape(s.metrics_port)
        asyncio.run(consume(s, [s.heads_topic], until=1, timeout_s=60))
    finally:
        assert stop_process(worker) == 0
    assert len(accepted_ids(accepted)) == total
    assert 'vru_ingest_events_total{agency="education",outcome="accepted"}' in metrics
    assert leaks(metrics) == []

    topics = [t.name for t in plan_topics(s, registry)]
    records = asyncio.run(read_to_end(s, topics))  # final: the worker stopped
    carried = {record.topic for record in records}
    tables = (s.changelog_topic(SUBJECTS), s.changelog_topic(SNA_TABLE))
    assert {s.accepted_topic, s.decisions_topic, *tables} <= carried  # the scan saw them all
    for record in records:
        blobs = [record.key or b"", record.value or b""]
        blobs += [name.encode() + bytes(value) for name, value in record.headers]
        assert [leaks(b) for b in blobs] == [[]] * len(blobs), record.topic
    assert leaks(log.read_bytes()) == []
    assert "event_processed" in log.read_text()

    made = reports(s, tmp_path)
    assert any(name.startswith("export/") for name in made)
    empty = [name for name, blob in made.items() if not blob]
    assert empty == ["quarantine list"], "every report but the quarantine's has content"
    assert {name: leaks(blob) for name, blob in made.items()} == {name: [] for name in made}
    assert [leaks(output) for output in OUTPUTS] == [[]] * len(OUTPUTS)
