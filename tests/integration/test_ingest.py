"""Ingest on the real broker: every kind of bad input is quarantined with its reason, and the
worker goes on with the next good event."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import Settings
from hub.crypto import SigningKey, seal_batch
from hub.crypto.record import Kind
from hub.ingest import SEAL_HEADER
from hub.process import start_worker, stop_process
from hub.quarantine import QuarantineRecord
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from tests.integration.events import (
    READING_LSOA,
    STORE,
    accepted_ids,
    accepted_types,
    items_of,
    one,
    record,
    sealed,
    token_for,
)
from tests.integration.kafka import consume, produce, read_to_end, read_until, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


async def test_every_rejection_has_its_reason_and_good_events_keep_flowing(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await create_topics(
        kafka_endpoint(s), plan_topics(s, load_registry(s.deploy_dir / "registry.yaml"))
    )
    good_first = one(s, "police.arrest", "police", READING_LSOA, 10)
    forged_value, _ = one(s, "police.arrest", "police", READING_LSOA, 11)
    intruder = SigningKey.generate()
    forged_seal = seal_batch([forged_value], intruder, "police")[0].to_bytes()
    wrong_agency = one(s, "education.suspension", "education", READING_LSOA, 12)
    unknown_fp = (b"\xc3\x01" + b"\x00" * 8 + good_first[0][10:], good_first[1])
    truncated = (good_first[0][:25], good_first[1])
    bad_age = sealed(
        s,
        "police",
        [("police.arrest", record("police.arrest", "police", READING_LSOA, 13, age=130))],
    )[0]
    unsealed = (one(s, "police.arrest", "police", READING_LSOA, 14)[0], [])
    good_last = one(s, "police.violent_incident", "police", READING_LSOA, 15)
    feed = s.feed_topic("police")
    await produce(
        s,
        feed,
        [
            good_first,
            (forged_value, [(SEAL_HEADER, forged_seal)]),
            wrong_agency,
            unknown_fp,
            truncated,
            good_first,  # the same event sent again: a duplicate event id
            bad_age,
            unsealed,
            good_last,
        ],
        key=b"one-partition",
    )
    worker = start_worker(s, tmp_path / "worker.log")
    try:
        # Two events, in one accepted record or two (a group of feed records shares one).
        accepted = await read_until(
            s, [s.accepted_topic], lambda r: len(accepted_types(r)) >= 2, timeout_s=40
        )
        quarantined = await consume(s, [s.quarantine_topic], until=7, timeout_s=15)
    finally:
        assert stop_process(worker) == 0
    records = sorted(
        (QuarantineRecord.from_bytes(q.value) for q in quarantined), key=lambda r: r.source.offset
    )
    assert [r.reason for r in records] == [
        "unknown_key",  # a seal by a key the police never registered
        "agency_mismatch",
        "unknown_schema",
        "decode_error",
        "duplicate_event",
        "invalid_field",
        "bad_signature",  # no seal at all
    ]
    assert all(r.source.topic == feed for r in records)
    assert records[3].original == truncated[0]
    assert accepted_types(accepted) == ["police.arrest", "police.violent_incident"]
    events = [STORE.decode(v).record for v in items_of(accepted, Kind.EVENTS)]
    assert {e["envelope"]["subject_token"] for e in events} == {token_for(n) for n in (10, 15)}


async def test_a_forged_signature_by_the_right_key_id_is_bad_signature(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await create_topics(
        kafka_endpoint(s), plan_topics(s, load_registry(s.deploy_dir / "registry.yaml"))
    )
    value, headers = one(s, "police.arrest", "police", READING_LSOA, 20)
    seal = bytearray(headers[0][1])
    seal[-1] ^= 0x01  # flip a bit of the signature
    tampered_event = bytearray(value)
    tampered_event[-1] ^= 0x01
    good = one(s, "police.arrest", "police", READING_LSOA, 21)
    await produce(
        s,
        s.feed_topic("police"),
        [(value, [(SEAL_HEADER, bytes(seal))]), (bytes(tampered_event), headers), good],
        key=b"k",
    )
    worker = start_worker(s, tmp_path / "worker.log")
    try:
        accepted = await consume(s, [s.accepted_topic], until=1, timeout_s=40)
        quarantined = await consume(s, [s.quarantine_topic], until=2, timeout_s=10)
    finally:
        assert stop_process(worker) == 0
    assert len(accepted_ids(accepted)) == 1
    reasons = sorted(QuarantineRecord.from_bytes(q.value).reason for q in quarantined)
    assert reasons[0] == "bad_signature"
    assert reasons[1] in {"bad_signature", "invalid_field", "decode_error"}


async def test_a_good_event_of_every_type_from_its_agency_is_accepted(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    registry = load_registry(s.deploy_dir / "registry.yaml")
    await create_topics(kafka_endpoint(s), plan_topics(s, registry))
    owners = {t: a.id for a in registry.agencies for t in a.event_types}
    consent_types = {t for t in owners if t.startswith("consent.")}
    sent = {}
    for n, event_type in enumerate(sorted(set(owners) - consent_types)):
        value, headers = one(s, event_type, owners[event_type], READING_LSOA, 100 + n)
        await produce(s, s.feed_topic(owners[event_type]), [(value, headers)])
        sent[event_type] = value
    worker = start_worker(s, tmp_path / "worker.log")
    try:
        # No agreements were published, so no switch markers: the sent events are all there
        # is (it waited for two markers more, so until the first clock tick, 30 s in).
        await wait_for(s, [s.accepted_topic], lambda r: len(accepted_types(r)) >= len(sent))
    finally:
        assert stop_process(worker) == 0
    accepted = await read_to_end(s, [s.accepted_topic])  # final: the worker stopped
    quarantined = await read_to_end(s, [s.quarantine_topic])
    assert sorted(accepted_types(accepted)) == sorted(sent)
    assert {owners[t] for t in sent} == {a.id for a in registry.agencies}
    assert quarantined == []
