"""`hub audit replay` on a real ledger written by a worker on the real broker: agreement versions
switched mid-stream, every decision re-derived; an exported copy with one corrupted decision
is reported field by field."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.config import Settings
from hub.crypto import HUB, Keyring, SigningKey
from hub.crypto.record import Kind, Place, encode_body, parse
from hub.crypto.trust import seal_record
from hub.dsa import load_directory
from hub.process import stop_process
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from hub.transport.agreements import publish_agreements
from tests.integration.cli import hub
from tests.integration.events import READING_LSOA, decisions_of
from tests.integration.flows import governance, scenario, worker
from tests.integration.kafka import consume, produce, read_to_end, read_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(200)]


def audit(settings: Settings, *args: str) -> tuple[int, dict[str, Any]]:
    """Run ``hub audit ARGS --json``; its exit code and JSON result."""
    done = hub(settings, "audit", *args)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    return done.returncode, json.loads(lines[-1])


def export_to(settings: Settings, directory: Path) -> None:
    """Run ``hub audit export --out DIRECTORY``."""
    done = hub(settings, "audit", "export", "--out", str(directory))
    assert done.returncode == 0, done.stderr


def records_of(export: Path) -> list[bytes]:
    """The decisions-topic records of an export, in offset order."""
    lines = (export / "decisions.jsonl").read_text().splitlines()
    return [base64.b64decode(json.loads(line)["value_b64"]) for line in lines]


def rewrite(export: Path, offset: int, value: bytes) -> None:
    """Replace the record at ``offset`` of an export's decisions."""
    values = records_of(export)
    values[offset] = value
    lines = [json.dumps({"offset": n, "value_b64": base64.b64encode(v).decode()}) for n, v in
             enumerate(values)]  # fmt: skip
    (export / "decisions.jsonl").write_text("\n".join(lines) + "\n")


def corrupted_permit(export: Path) -> tuple[int, tuple[bytes, ...], str]:
    """The offset of the first record holding a permit, its items with that permit's first
    event decision claiming agreement version 7, and the permit's decision id."""
    for offset, value in enumerate(records_of(export)):
        items = [json.loads(i) for i in parse(value).items]
        permits = [i for i in items if i["outcome"] == "permit"]
        if permits:
            permits[0]["decisions"][0]["agreement_version"] = 7
            encoded = tuple(json.dumps(i).encode() for i in items)
            return offset, encoded, str(permits[0]["decision_id"])
    raise AssertionError("no permit in the export")


def hub_place(settings: Settings) -> Place:
    return Place(settings.decisions_topic, 0)


def hub_key(settings: Settings) -> SigningKey:
    return Keyring.open(settings.keys_dir).signing_key(HUB)


def when(decision: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(decision["decided_at"])


def tampering_is_named(s: Settings, export: Path) -> None:
    """A decision the hub signed that does not follow from its inputs (a defect, or a stolen
    hub key): replay names the field. The same change without the hub key: not an entry."""
    original = (export / "decisions.jsonl").read_text()
    target, raw, decision_id = corrupted_permit(export)
    rewrite(
        export,
        target,
        seal_record(Kind.DECISIONS, datetime.now(UTC), raw, hub_place(s), hub_key(s)),
    )
    code, tampered = audit(s, "replay", "--json", "--workers", "1", "--from-dir", str(export))
    assert code == 1
    # in two processes (the two subjects' partitions, one each): the same
    assert audit(s, "replay", "--json", "--workers", "2", "--from-dir", str(export)) == (
        code,
        tampered,
    )
    assert tampered["mismatched_entries"] == 1
    [mismatch] = tampered["mismatches"]
    assert mismatch["decision_id"] == decision_id
    assert mismatch["field"] == "decisions[0].agreement_version"
    assert mismatch["recorded"] == 7
    assert mismatch["derived"] != 7
    (export / "decisions.jsonl").write_text(original)
    target, raw, decision_id = corrupted_permit(export)
    old = parse(records_of(export)[target])
    rewrite(export, target, encode_body(old.kind, old.at, old.key_id, raw) + old.tag)
    code, forged = audit(s, "replay", "--json", "--from-dir", str(export))
    assert code == 1
    assert forged["mismatches"] == []
    [uncovered] = forged["uncovered"]
    assert (uncovered["offset"], uncovered["reason"]) == (target, "bad_signature")
    assert decision_id in uncovered["decision_ids"]


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
        kafka_endpoint(s),
        s.agreements_topic,
        s.accepted_topic,
        first,
        datetime.now(UTC),
        governance=governance(s),
    )
    proc = worker(s, tmp_path / "worker.log")
    try:
        for subject in (11, 15):  # accepted partitions 1 and 0 (of 2): two groups to shard
            for agency, message in scenario(s, subject=subject, lsoa=READING_LSOA):
                await produce(s, s.feed_topic(agency), [message])
        await read_until(s, [s.decisions_topic], lambda r: len(decisions_of(r)) >= 36, timeout_s=60)
        await publish_agreements(
            kafka_endpoint(s),
            s.agreements_topic,
            s.accepted_topic,
            every,
            datetime.now(UTC),
            governance=governance(s),
        )
        await consume(s, [s.alert_topic("reading")], until=4, timeout_s=60)
    finally:
        assert stop_process(proc) == 0
    decisions = await read_to_end(s, [s.decisions_topic])  # final: the worker stopped
    found = decisions_of(decisions)
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

    tampering_is_named(s, export)

    newest = max(d["policy_sequence"] for d in found)
    switched = min(when(d) for d in found if d["policy_sequence"] == newest)
    code, later = audit(s, "replay", "--json", "--from", switched.isoformat())
    assert code == 0
    assert later["entries"] == len({d["decision_id"] for d in found if when(d) >= switched})
    assert 0 < later["entries"] < result["entries"]
