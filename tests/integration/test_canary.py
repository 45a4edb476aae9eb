"""No raw identifier given to the SDK appears in any topic of the plan or in the worker's log.

A demo-like flow (police replay with partner events through ``hub feed police``) plus rows
about a canary person sent with ``hub feed send``; then every topic the hub uses is read from
offset 0 and searched, with the worker log, for every form of the canary's identifiers.
"""

from __future__ import annotations

import asyncio
import json
from itertools import islice
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import feed
from hub.config import Settings, settings_env
from hub.process import start_worker, stop_process
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics
from tests.integration.kafka import consume
from tests.unit.agency.conftest import CANARY, leaks

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

POLICE_CSV = (
    Path(__file__).resolve().parents[3] / "shared/data/police/2018-06-thames-valley-street.csv"
)


def canary_rows() -> list[dict[str, object]]:
    base = {
        "event_type": "education.suspension",
        "lsoa": "E01016353",
        "given_name": CANARY["given_name"],
        "family_name": CANARY["family_name"],
        "date_of_birth": "14/02/2009",
        "postcode": CANARY["postcode"],
        "kind": "SUSPENSION",
        "reason": "USE_OR_THREAT_OF_USE_OF_AN_OFFENSIVE_WEAPON",
        "sessions": 6,
        "phase": "SECONDARY",
        "sen_provision": "NONE",
        "free_school_meals": True,
    }
    return [
        base | {"source_ref": "c-1", "occurred_at": "2024-06-03T10:00:00+01:00"},
        base | {"source_ref": "c-2", "occurred_at": "2024-06-20T09:00:00+01:00"},
        base | {"source_ref": "c-3", "occurred_at": "2024-06-21T09:00:00+01:00", "postcode": "ZZ"},
        base
        | {
            "source_ref": "c-4",
            "occurred_at": "2024-06-22T09:00:00Z",
            "nhs_number": CANARY["nhs_number"],
            "event_type": "csc.referral",
        },
    ]


def invoke(settings: Settings, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(feed.app, list(args), env=settings_env(settings))
    assert result.exit_code in (0, feed.EXIT_REJECTS), result.output
    return json.loads(result.output.splitlines()[-1])


def test_no_raw_identifier_reaches_any_topic_or_the_worker_log(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    registry = load_registry(s.deploy_dir / "registry.yaml")
    asyncio.run(create_topics(s.broker_url, plan_topics(s, registry)))
    head = tmp_path / "police.csv"
    with POLICE_CSV.open(encoding="utf-8") as source:
        head.write_text("".join(islice(source, 300)), encoding="utf-8")
    replay = invoke(s, "police", "--file", str(head), "--partners")
    rows = tmp_path / "school.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in canary_rows()), encoding="utf-8")
    sent = invoke(s, "send", "--agency", "education", "--file", str(rows))
    assert (sent["sent"], sent["rejected"]) == (2, 2)  # bad postcode; csc.referral not education's
    agencies = replay["agencies"]
    assert isinstance(agencies, dict)
    total = 2 + sum(r["sent"] for r in agencies.values())

    log = tmp_path / "worker.log"
    worker = start_worker(s, log)
    try:
        accepted = asyncio.run(consume(s.broker_url, [s.accepted_topic], until=total, timeout_s=60))
    finally:
        assert stop_process(worker) == 0
    assert len(accepted) == total

    topics = [t.name for t in plan_topics(s, registry)]
    records = asyncio.run(consume(s.broker_url, topics, until=10**6, timeout_s=8))
    assert len(records) > total
    for record in records:
        blobs = [record.key or b"", record.value or b""]
        blobs += [name.encode() + bytes(value) for name, value in record.headers]
        assert [leaks(b) for b in blobs] == [[]] * len(blobs), record.topic
    assert leaks(log.read_bytes()) == []
    assert "event_processed" in log.read_text()
