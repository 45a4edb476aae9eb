"""The decision ledger on the real broker: a worker's decisions get signed heads, `hub audit
verify` accepts them, and each tamper probe on a copy of the real ledger is named.

The copies are written as a holder of the hub's key would write them (every entry re-signed
for the copy's topic), so the probes test what the signed tree catches even then; a record
written without the key is named as uncovered (``test_forged_records.py`` has the attacks)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.audit import decode_head, sign_head
from hub.config import Settings
from hub.crypto import HUB, Keyring, SigningKey
from hub.crypto.record import Kind, Place
from hub.crypto.trust import seal_record
from hub.process import stop_process
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from tests.integration.cli import hub
from tests.integration.events import READING_LSOA, items_of
from tests.integration.flows import prepare, scenario, worker
from tests.integration.kafka import consume, produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(170)]


def audit_cli(settings: Settings, *args: str) -> tuple[int, dict[str, Any]]:
    """Run ``hub audit verify --json`` for ``settings``; its exit code and JSON result."""
    done = hub(settings, "audit", "verify", "--json", *args)
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


async def values(settings: Settings, topic: str, until: int = 10_000) -> list[bytes]:
    records = await consume(settings, [topic], until=until, timeout_s=2)
    return [r.value or b"" for r in records]


async def wait_for_heads(settings: Settings, timeout_s: float) -> tuple[list[bytes], list[bytes]]:
    """Decision entries and heads once the newest head covers every decision."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        records = await consume(settings, [settings.decisions_topic], until=10_000, timeout_s=2)
        decisions = items_of(records, Kind.DECISIONS)
        heads = await values(settings, settings.heads_topic)
        ids = {json.loads(v)["decision_id"] for v in decisions}
        if decisions and heads and decode_head(heads[-1], 0).size == len(ids):
            return decisions, heads
        await asyncio.sleep(1)
    raise AssertionError("no head covering every decision")


def resealed(settings: Settings, entries: list[bytes]) -> list[bytes]:
    """Each entry as one decisions record signed with the hub's key for ``settings``' topic."""
    key = Keyring.open(settings.keys_dir).signing_key(HUB)
    place = Place(settings.decisions_topic, 0)
    return [seal_record(Kind.DECISIONS, datetime.now(UTC), (e,), place, key) for e in entries]


async def copy_to(settings: Settings, decisions: list[bytes], heads: list[bytes]) -> None:
    await create_topics(
        kafka_endpoint(settings),
        [
            s
            for s in plan_topics(settings, load_registry(settings.deploy_dir / "registry.yaml"))
            if s.name in (settings.decisions_topic, settings.heads_topic)
        ],
    )
    records = [(v, []) for v in resealed(settings, decisions)]
    await produce(settings, settings.decisions_topic, records)
    await produce(settings, settings.heads_topic, [(v, []) for v in heads])


def forged_head(heads: list[bytes], position: int) -> bytes:
    """The head at ``position`` re-signed by a key that is not the hub's."""
    head = decode_head(heads[position], position)
    other = SigningKey.from_raw(bytes(range(32)))
    proofs = (head.consistency, head.leaves)
    return sign_head(other, head.checkpoint, head.timestamp, head.previous, proofs).to_bytes()


async def test_worker_decisions_verify_and_every_tamper_probe_is_named(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings.model_copy(update={"head_interval_s": 1.0})
    await prepare(s)
    proc = worker(s, tmp_path / "worker.log")
    try:
        for subject in (1, 2, 3):
            for agency, message in scenario(s, subject=subject, lsoa=READING_LSOA):
                await produce(s, s.feed_topic(agency), [message])
        decisions, heads = await wait_for_heads(s, timeout_s=90)
    finally:
        assert stop_process(proc) == 0
    code, result = audit_cli(s)
    assert (code, result["ok"]) == (0, True), result
    assert result["entries"] >= 9
    assert result["unsealed"] == 0

    ids = [json.loads(v)["decision_id"] for v in decisions]
    n = len(decisions)
    assert n >= 6
    flipped = decisions[2].replace(b'"recipient":"', b'"recipient":"x', 1)
    probes: dict[str, tuple[list[bytes], list[bytes], dict[str, Any]]] = {
        "changed_byte": ([*decisions[:2], flipped, *decisions[3:]], heads, {"index": 2}),
        "dropped": ([*decisions[:3], *decisions[4:]], heads, {"index": 3, "decision_id": ids[4]}),
        "inserted": (
            [*decisions[:1], flipped.replace(ids[2].encode(), b"f" * 32), *decisions[1:]],
            heads,
            {"index": 1},
        ),
        "swapped": (
            [decisions[1], decisions[0], *decisions[2:]],
            heads,
            {"index": 0, "decision_id": ids[1]},
        ),
        "truncated": (decisions[: n - 2], heads, {"index": len(set(ids[: n - 2]))}),
    }
    for number, (name, (tampered, tampered_heads, expected)) in enumerate(probes.items()):
        copy = s.model_copy(update={"topic_prefix": f"{s.topic_prefix}p{number}"})
        await copy_to(copy, tampered, tampered_heads)
        code, result = audit_cli(copy)
        assert code == 1, (name, result)
        assert {k: result.get(k) for k in expected} == expected, (name, result)
    # A head by another key at the end: named as forged, the genuine chain still verifies.
    copy = s.model_copy(update={"topic_prefix": f"{s.topic_prefix}p{len(probes)}"})
    await copy_to(copy, decisions, [*heads[:-1], forged_head(heads, len(heads) - 1)])
    code, result = audit_cli(copy)
    assert (code, result["ok"]) == (1, False), result
    [forged] = result["forged_heads"]
    assert (forged["head"], forged["error"]) == (len(heads) - 1, "HeadSignatureError")
