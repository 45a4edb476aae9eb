"""The attacks of issue 14, as someone who can reach the broker but holds no key would run them.

One real ``hub worker`` on the real broker serves the whole module; each test is one attack,
written with a plain aiokafka producer, and asserts that nothing is disclosed, nothing forged is
sealed or believed, the refusal is counted, the worker stays alive, and the next genuine
record is processed. Attacks on what the worker reads at start (alert topics, table
changelogs) are in ``test_attacks_at_start.py``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.audit import decode_head, sign_head
from hub.broker import EmbeddedBroker
from hub.config import Settings
from hub.crypto import HUB, HmacKey, Keyring, SigningKey
from hub.crypto.record import Kind, Place, encode_body, parse
from hub.crypto.trust import seal_record
from hub.dsa import Agreement
from hub.dsa.book import agreement_digest, canonical_json
from hub.errors import HeadChainError
from hub.sequencer import Pending
from hub.transport.partitioner import partition_for
from tests.integration.attack import (
    RunningHub,
    alerts_about,
    dated,
    genuine_flow,
    prepared_hub,
    produce_raw,
    wait_for,
)
from tests.integration.cli import hub as hub_cli
from tests.integration.events import (
    READING_LSOA,
    STORE,
    decisions_of,
    items_of,
    record,
    token_for,
)
from tests.integration.flows import SCENARIO
from tests.integration.kafka import consume, produce, read_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

#: The attacker's own signing and MAC keys: well-formed, and trusted by nobody.
MALLORY = SigningKey.from_raw(b"\x66" * 32)
MALLORY_MAC = HmacKey(b"\x67" * 32)
RULE_CONSENT = "disengagement-and-violence"


@pytest.fixture(scope="module")
def hub(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    running = prepared_hub(broker, tmp_path_factory.mktemp("attacks"))
    running.start()
    yield running
    assert running.stop() == 0, running.tail()


def _alive(hub: RunningHub) -> None:
    assert hub.alive(), hub.tail()
    assert hub.lines("tree_head_refused") == []


async def _decisions_about(s: Settings, event_id: str, timeout_s: float) -> list[dict[str, Any]]:
    records = await read_until(
        s,
        [s.decisions_topic],
        lambda r: any(event_id in d["events"] for d in decisions_of(r)),
        timeout_s=timeout_s,
    )
    return [d for d in decisions_of(records) if event_id in d["events"]]


async def _relaxed_consent_copy(s: Settings) -> tuple[bytes, int]:
    """The published consent agreement, relaxed (no consent required), as its next version:
    the JSON the attacker would have governance sign, and the sequence it claims."""
    records = await read_until(
        s,
        [s.agreements_topic],
        lambda r: any(b"tv-voluntary-consent" in v for v in items_of(r, Kind.AGREEMENT)),
        timeout_s=20,
    )
    published = [json.loads(v) for v in items_of(records, Kind.AGREEMENT)]
    raw = next(p for p in published if p["agreement"]["id"] == "tv-voluntary-consent")
    relaxed = dict(raw["agreement"])
    relaxed["version"] += 1
    relaxed["data_items"] = [dict(i, consent_required=False) for i in relaxed["data_items"]]
    sequence = max(p["sequence"] for p in published) + 1
    forged = {
        **raw,
        "agreement": relaxed,
        "sequence": sequence,
        "digest": agreement_digest(Agreement.model_validate(relaxed)),
    }
    return canonical_json(forged), sequence


async def test_a_forged_agreement_and_markers_disclose_nothing_without_consent(
    hub: RunningHub,
) -> None:
    s = hub.settings
    relaxed, sequence = await _relaxed_consent_copy(s)
    now = datetime.now(UTC)
    agreements = Place(s.agreements_topic, 0)
    await produce_raw(
        s,
        s.agreements_topic,
        [
            (b"tv-voluntary-consent", relaxed, [], 0),  # the old, unsigned format
            (None, seal_record(Kind.AGREEMENT, now, (relaxed,), agreements, MALLORY), [], 0),
        ],
    )
    marker = json.dumps({"kind": "vru.dsa.switch", "sequence": sequence}).encode()
    markers = []
    for partition in range(s.partitions):
        place = Place(s.accepted_topic, partition)
        signed = seal_record(Kind.SWITCH, now, (marker,), place, MALLORY)
        markers += [
            (b"__policy__", marker, [("vru-kind", b"vru.dsa.switch")], partition),
            (b"__policy__", signed, [], partition),
        ]
    await produce_raw(s, s.accepted_topic, markers)
    # Then a young person who never consented: the voluntary sector's and the police's events.
    disengaged, voluntary_id = dated(
        s, "voluntary.engagement", "voluntary-sector", (41, 4101), stage="DISENGAGED"
    )
    weapon, police_id = dated(s, "police.weapon_possession", "police", (41, 4102))
    await produce(s, s.feed_topic("voluntary-sector"), [disengaged])
    await produce(s, s.feed_topic("police"), [weapon])
    decided = await _decisions_about(s, police_id, timeout_s=60)
    wait_for(lambda: hub.refused(s.accepted_topic) >= 2 * s.partitions, 20, "markers refused")
    wait_for(lambda: hub.refused(s.agreements_topic) >= 2, 20, "agreements refused")

    reading = [d for d in decided if d["recipient"] == "reading" and d["rule_id"] == RULE_CONSENT]
    assert reading, decided
    assert {d["outcome"] for d in reading} == {"deny"}
    assert {d["policy_sequence"] for d in reading} == {sequence - 1}  # never the forged one
    voluntary = [e for d in reading for e in d["decisions"] if e["event_id"] == voluntary_id]
    assert voluntary
    assert all(e["reasons"] == ["consent_missing"] for e in voluntary)
    alerts = await alerts_about(s, "reading", 41, count=1, timeout_s=3)
    assert [a for a in alerts if a.body.rule.id == RULE_CONSENT] == []
    assert hub.refused(s.agreements_topic, "malformed_record") >= 1
    assert hub.refused(s.agreements_topic, "unknown_key") >= 1
    _alive(hub)


async def test_unsealed_events_written_to_accepted_raise_no_flag(hub: RunningHub) -> None:
    s = hub.settings
    before = hub.refused(s.accepted_topic)
    forged, ids = [], []
    for n, (event_type, agency, fields) in enumerate(SCENARIO):
        rec = record(event_type, agency, READING_LSOA, 4200 + n, subject_token=token_for(42))
        rec["envelope"] |= {
            "key_id": "0" * 16,
            "occurred_at": datetime.now(UTC) - timedelta(days=5),
        }
        rec.update(fields)
        value = STORE.encode(event_type, rec)
        ids.append(rec["envelope"]["event_id"])
        key = token_for(42).encode()
        place = Place(s.accepted_topic, partition_for(key, s.partitions))
        macked = seal_record(Kind.EVENTS, datetime.now(UTC), (value,), place, MALLORY_MAC)
        forged += [(key, value, [], None), (key, macked, [], place.partition)]
    await produce_raw(s, s.accepted_topic, forged)
    wait_for(lambda: hub.refused(s.accepted_topic) >= before + len(forged), 30, "events refused")

    await genuine_flow(s, 43)  # the next genuine records: flags as ever
    genuine = await alerts_about(s, "reading", 43, count=2, timeout_s=60)
    assert sorted(a.body.rule.id for a in genuine) == ["child-exploitation", "weapon-and-exclusion"]
    assert await alerts_about(s, "reading", 42, count=1, timeout_s=2) == []
    records = await consume(s, [s.decisions_topic], until=10**6, timeout_s=2)
    assert [d for d in decisions_of(records) if set(ids) & set(d["events"])] == []
    refusals = [line for line in hub.lines("record_refused") if line["topic"] == s.accepted_topic]
    assert {"partition", "offset", "reason", "level"} <= set(refusals[-1])
    assert refusals[-1]["level"] == "warning"
    assert all(i.encode() not in hub.log.read_bytes() for i in ids)  # never the content
    _alive(hub)


def _verify(s: Settings) -> tuple[int, dict[str, Any]]:
    done = hub_cli(s, "audit", "verify", "--json")
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


async def _sealed_heads(s: Settings, entries: int, timeout_s: float) -> list[bytes]:
    """The heads topic once a head by the hub's key covers ``entries`` decisions."""
    hub_key = Keyring.open(s.keys_dir).signing_key(HUB).key_id

    def covered(records: list[Any]) -> bool:
        for r in records:
            try:
                head = decode_head(r.value or b"", 0)
            except HeadChainError:
                continue
            if head.key_id == hub_key and head.size >= entries:
                return True
        return False

    records = await read_until(s, [s.heads_topic], covered, timeout_s=timeout_s)
    return [r.value or b"" for r in records]


async def _offsets_of(s: Settings, topic: str, values: list[bytes]) -> list[int]:
    """Where ``values`` landed on ``topic`` (read back, not guessed)."""
    records = await read_until(
        s,
        [topic],
        lambda found: all(v in {r.value for r in found} for v in values),
        timeout_s=20,
    )
    return [next(r.offset for r in records if r.value == v) for v in values]


async def test_a_forged_decision_with_a_fresh_id_is_never_sealed_and_verify_names_it(
    hub: RunningHub,
) -> None:
    s = hub.settings
    await genuine_flow(s, 44)
    await alerts_about(s, "reading", 44, count=2, timeout_s=60)
    records = await consume(s, [s.decisions_topic], until=10**6, timeout_s=2)
    genuine = decisions_of(records)
    permit = dict(genuine[0], decision_id=uuid.uuid4().hex, outcome="permit", recipient="reading")
    forged = json.dumps(permit).encode()
    place = Place(s.decisions_topic, 0)
    signed = seal_record(Kind.DECISIONS, datetime.now(UTC), (forged,), place, MALLORY)
    await produce_raw(s, s.decisions_topic, [(b"reading", forged, [], 0), (None, signed, [], 0)])
    offset, signed_offset = await _offsets_of(s, s.decisions_topic, [forged, signed])
    await genuine_flow(s, 45)  # the next genuine decisions are sealed
    await alerts_about(s, "reading", 45, count=2, timeout_s=60)
    after = decisions_of(await consume(s, [s.decisions_topic], until=10**6, timeout_s=2))
    # The genuine decisions only: Mallory's signed record parses too (read without verifying).
    entries = len({d["decision_id"] for d in after} - {permit["decision_id"]})
    await _sealed_heads(s, entries, timeout_s=30)

    code, result = _verify(s)
    assert (code, result["ok"]) == (1, False), result
    assert result["signed_size"] >= entries  # every genuine decision sealed
    assert result["entries"] >= entries
    uncovered = {u["offset"]: u for u in result["uncovered"]}
    assert uncovered[offset]["reason"] == "malformed_record"
    assert uncovered[signed_offset]["reason"] == "unknown_key"
    assert permit["decision_id"] in uncovered[offset]["decision_ids"]
    assert permit["decision_id"] in uncovered[signed_offset]["decision_ids"]
    ledger = [d["decision_id"] for d in decisions_of(await consume(
        s, [s.decisions_topic], until=10**6, timeout_s=1))]  # fmt: skip
    assert ledger.count(permit["decision_id"]) == 1  # in the forged record only: never an entry
    assert hub.refused(s.decisions_topic) >= 2
    _alive(hub)


async def test_the_head_chain_keeps_growing_after_a_forged_head(hub: RunningHub) -> None:
    s = hub.settings
    await genuine_flow(s, 48)  # decisions of its own: the test may run first, or alone
    await alerts_about(s, "reading", 48, count=2, timeout_s=60)
    heads = await _sealed_heads(s, 1, timeout_s=60)
    last = decode_head(heads[-1], len(heads) - 1)
    claimed = sign_head(
        MALLORY,
        last.checkpoint,
        last.timestamp + timedelta(seconds=1),
        last.previous,
        (last.consistency, last.leaves),
    )
    garbage = b'{"format": "vru-hub/tree-head/v1"}'
    await produce_raw(
        s,
        s.heads_topic,
        [(b"head", claimed.to_bytes(), [], 0), (b"head", garbage, [], 0)],
    )
    offset, garbage_offset = await _offsets_of(s, s.heads_topic, [claimed.to_bytes(), garbage])
    await genuine_flow(s, 46)
    await alerts_about(s, "reading", 46, count=2, timeout_s=60)
    after = decisions_of(await consume(s, [s.decisions_topic], until=10**6, timeout_s=2))
    grown = await _sealed_heads(s, len({d["decision_id"] for d in after}), timeout_s=30)
    assert len(grown) > garbage_offset + 1  # genuine heads were published after the forged ones
    newest = decode_head(grown[-1], len(grown) - 1)
    assert newest.key_id == Keyring.open(s.keys_dir).signing_key(HUB).key_id
    assert newest.size > last.size
    code, result = _verify(s)
    assert code == 1
    named = {f["head"]: f for f in result["forged_heads"]}
    assert named[offset]["key_id"] == MALLORY.key_id
    assert named[garbage_offset]["error"] == "HeadChainError"
    assert result["heads"] >= 2
    wait_for(lambda: hub.refused(s.heads_topic) >= 2, 10, "forged heads refused")
    _alive(hub)


async def test_forged_outbox_records_and_a_forged_suspension_change_nothing(
    hub: RunningHub,
) -> None:
    s = hub.settings
    pending = Pending("reading", "f" * 32, b"\x00" * 48, (("ce_id", b"f" * 32),))
    key = b"reading"
    place = Place(s.outbox_topic, partition_for(key, s.partitions))
    macked = seal_record(Kind.ALERTS, datetime.now(UTC), (pending.to_bytes(),), place, MALLORY_MAC)
    body = parse(macked)
    lying = encode_body(body.kind, body.at, "0" * 16, body.items) + body.tag
    await produce_raw(
        s,
        s.outbox_topic,
        [(key, pending.to_bytes(), [], place.partition), (key, macked, [], place.partition),
         (key, lying, [], place.partition)],
    )  # fmt: skip
    suspension = {
        "kind": "vru.registry.suspension", "format": 1, "party": "partnership",
        "party_id": "reading", "action": "suspend", "reason": "breach_investigation",
        "sequence": 10_000, "published_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    unsigned = canonical_json(suspension)
    signed = seal_record(
        Kind.SUSPENSION, datetime.now(UTC), (unsigned,), Place(s.agreements_topic, 0), MALLORY
    )
    await produce_raw(s, s.agreements_topic, [(b"reading", unsigned, [], 0), (None, signed, [], 0)])
    wait_for(lambda: len(hub.lines("suspension_refused")) >= 1, 20, "the suspension alarmed")
    wait_for(lambda: hub.refused(s.outbox_topic) >= 3, 20, "outbox records refused")

    await genuine_flow(s, 47)  # Reading is not suspended: it gets its flags
    genuine = await alerts_about(s, "reading", 47, count=2, timeout_s=60)
    assert sorted(a.body.rule.id for a in genuine) == ["child-exploitation", "weapon-and-exclusion"]
    stream = await consume(s, [s.alert_topic("reading")], until=10**6, timeout_s=2)
    assert all(r.key != b"f" * 32 for r in stream)
    seqs = [int(dict(r.headers)["vru-seq"]) for r in stream if dict(r.headers).get("vru-seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert hub.lines("suspension_refused")[0]["level"] == "error"
    assert hub.refused(s.outbox_topic, "unknown_key") >= 2
    _alive(hub)
