"""``hub quarantine list`` and ``redrive`` on the real broker: quarantined, fixed, redriven."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.agency import SEAL_HEADER, AgencyClient, EventDraft, FeedMessage, FeedProducer, agency_keys
from hub.cli import quarantine
from hub.codec import SchemaStore
from hub.config import Settings, settings_env
from hub.crypto import Keyring, SealVerifier, agency_owner
from hub.crypto.batchrecord import encode_batch_record
from hub.errors import UnknownAreaError
from hub.feeds.synthetic import synth_valid_fields
from hub.process import start_worker, stop_process
from hub.pseudonym import PersonIdentity
from hub.quarantine import QuarantineRecord, SourceRef
from hub.quarantine import quarantine as quarantine_record
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from tests.integration.events import accepted_ids
from tests.integration.kafka import consume, produce, read_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

READING_LSOA = "E01016353"
OXFORDSHIRE_LSOA = "E01028422"
#: Thirty days before the run at 21:00 (never a calendar date the suite will pass by).
WHEN = datetime.now(UTC).replace(hour=21, minute=0, second=0, microsecond=0) - timedelta(days=30)


def police_messages(settings: Settings) -> list[FeedMessage]:
    """Two Reading incidents and one Oxfordshire incident, sealed as one batch."""
    store = SchemaStore.load(settings.schemas_dir)
    client = AgencyClient(agency_keys(Keyring.open(settings.keys_dir), "police"), store)
    schema = store.schema("police.violent_incident")
    drafts = [
        EventDraft(
            "police.violent_incident",
            WHEN,
            lsoa,
            f"inc-{n}",
            PersonIdentity("Jordan", "Smith", f"{WHEN.year - 16}-03-0{n + 1}", "RG1 1AA"),
            synth_valid_fields("police.violent_incident", schema, random.Random(n), WHEN),
        )
        for n, lsoa in enumerate((READING_LSOA, READING_LSOA, OXFORDSHIRE_LSOA))
    ]
    return client.messages(drafts)


async def send(settings: Settings, messages: list[FeedMessage]) -> None:
    async with FeedProducer(kafka_endpoint(settings)) as producer:
        await producer.send(settings.feed_topic("police"), messages)


def without_reading(data_dir: Path, into: Path) -> Path:
    """A copy of the geo lookups lacking the Reading LSOA: its events land in unknown_area."""
    (into / "geo").mkdir(parents=True)
    for path in (data_dir / "geo").glob("*.csv"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        (into / "geo" / path.name).write_text(
            "".join(x for x in lines if READING_LSOA not in x), encoding="utf-8"
        )
    return into


def cli(settings: Settings, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(quarantine.app, list(args), env=settings_env(settings))
    return result.exit_code, result.output


def test_quarantined_events_are_listed_without_bytes_and_redriven_after_a_fix(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    registry = load_registry(s.deploy_dir / "registry.yaml")
    asyncio.run(create_topics(kafka_endpoint(s), plan_topics(s, registry)))
    broken = s.model_copy(update={"data_dir": without_reading(s.data_dir, tmp_path / "broken")})
    messages = police_messages(s)
    asyncio.run(send(s, messages))
    worker = start_worker(broken, tmp_path / "worker-1.log")
    try:
        asyncio.run(consume(s, [s.quarantine_topic], until=2, timeout_s=45))
    finally:
        assert stop_process(worker) == 0

    code, out = cli(s, "list", "--json", "--wait", "1")
    assert code == 0
    listed = [json.loads(x) for x in out.splitlines()]
    assert [x["reason"] for x in listed] == ["unknown_area", "unknown_area"]
    assert {x["source"]["topic"] for x in listed} == {s.feed_topic("police")}
    assert all("original_b64" not in x and x["size"] > 0 for x in listed)
    assert all(m.key.decode() not in out and m.value.hex() not in out for m in messages)
    code, out = cli(s, "list", "--reason", "decode_error", "--wait", "1")
    assert (code, out.splitlines()[-1]) == (0, "0 records {}")
    assert cli(s, "redrive", "--wait", "1")[0] == 1  # neither --reason nor --all

    records = [
        QuarantineRecord.from_bytes(r.value)
        for r in asyncio.run(consume(s, [s.quarantine_topic], until=2, timeout_s=5))
    ]
    assert all(dict(r.headers).get("vru-seal") and r.key_b64 for r in records)
    code, out = cli(s, "redrive", "--reason", "unknown_area", "--wait", "1")
    assert code == 0
    assert json.loads(out.splitlines()[-1])["redriven"] == 2

    worker = start_worker(s, tmp_path / "worker-2.log")  # the fix: the full area lookup
    try:
        accepted = asyncio.run(
            read_until(s, [s.accepted_topic], lambda r: len(set(accepted_ids(r))) >= 3, 45)
        )  # markers and ticks are records too: wait for the events themselves
    finally:
        assert stop_process(worker) == 0
    # The Oxfordshire event, then both redriven. Ids, not records: a record read again after
    # the worker's start-up rewind is accepted again (a redelivery, at the same feed position).
    assert len(set(accepted_ids(accepted))) == 3
    shutil.rmtree(tmp_path / "broken")


def test_redrive_restores_key_and_seal_and_the_worker_accepts_the_events(
    hub_settings: Settings, tmp_path: Path
) -> None:
    """Records as ingest writes them when it keeps key and headers, redriven with --all."""
    s = hub_settings
    registry = load_registry(s.deploy_dir / "registry.yaml")
    asyncio.run(create_topics(kafka_endpoint(s), plan_topics(s, registry)))
    messages = police_messages(s)[:2]
    feed = s.feed_topic("police")
    records = [
        quarantine_record(
            m.value,
            SourceRef(topic=feed, partition=0, offset=n),
            UnknownAreaError("the event's LSOA is in no partnership's area"),
            key=m.key,
            headers=m.headers,
        )
        for n, m in enumerate(messages)
    ]
    asyncio.run(produce(s, s.quarantine_topic, [(r.to_bytes(), []) for r in records]))
    code, out = cli(s, "redrive", "--all", "--wait", "1")
    assert code == 0
    assert json.loads(out.splitlines()[-1])["redriven"] == 2

    redriven = asyncio.run(consume(s, [feed], until=2, timeout_s=10))
    assert sorted(r.key for r in redriven) == sorted(m.key for m in messages)
    for record in redriven:
        original = next(m for m in messages if m.key == record.key)
        headers = dict(record.headers)
        assert record.value == original.value
        assert headers[SEAL_HEADER] == original.seal
        assert headers[quarantine.REDRIVE_HEADER].startswith(s.quarantine_topic.encode())
    worker = start_worker(s, tmp_path / "worker.log")
    try:
        # Two events, in one accepted record or two (a group of feed records shares one).
        accepted = asyncio.run(
            read_until(s, [s.accepted_topic], lambda r: len(accepted_ids(r)) >= 2, timeout_s=45)
        )
    finally:
        assert stop_process(worker) == 0
    assert len(accepted_ids(accepted)) == 2


def test_an_input_too_large_to_keep_is_redriven_from_its_feed_position(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    registry = load_registry(s.deploy_dir / "registry.yaml")
    asyncio.run(create_topics(kafka_endpoint(s), plan_topics(s, registry)))
    oversized = random.Random(7).randbytes(300 * 1024)  # not Avro: decode_error, too large to keep
    asyncio.run(produce(s, s.feed_topic("police"), [(oversized, [])], key=b"k"))
    worker = start_worker(s, tmp_path / "worker.log")
    try:
        asyncio.run(consume(s, [s.quarantine_topic], until=1, timeout_s=45))
    finally:
        assert stop_process(worker) == 0

    code, out = cli(s, "list", "--json", "--wait", "1")
    assert code == 0
    [listed] = [json.loads(x) for x in out.splitlines()]
    assert (listed["reason"], listed["original_omitted"]) == ("decode_error", True)
    assert listed["size"] == len(oversized)
    # A forged record pointing at the same position with another digest is not redriven.
    kept = QuarantineRecord.from_bytes(
        asyncio.run(consume(s, [s.quarantine_topic], until=1, timeout_s=5))[0].value or b""
    )
    forged = kept.model_copy(update={"original_sha256": "0" * 64})
    asyncio.run(produce(s, s.quarantine_topic, [(forged.to_bytes(), [])]))

    code, out = cli(s, "redrive", "--reason", "decode_error", "--wait", "1")
    assert code == 0
    summary = json.loads(out.splitlines()[-1])
    assert (summary["redriven"], summary["original_unavailable"]) == (1, 1)
    feed = asyncio.run(consume(s, [s.feed_topic("police")], until=2, timeout_s=10))
    assert [r.value for r in feed] == [oversized, oversized]
    assert [r.key for r in feed] == [b"k", b"k"]
    assert "vru-redrive" in dict(feed[1].headers)


def test_an_oversized_event_of_a_batch_record_is_listed_with_its_index_and_redriven_alone(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    registry = load_registry(s.deploy_dir / "registry.yaml")
    asyncio.run(create_topics(kafka_endpoint(s), plan_topics(s, registry)))
    good = police_messages(s)[0].value
    oversized = b"\xc3\x01" + random.Random(8).randbytes(300 * 1024)  # no such schema: refused
    key = Keyring.open(s.keys_dir).signing_key(agency_owner("police"))
    batch = encode_batch_record([good, oversized], key, "police")
    asyncio.run(produce(s, s.feed_topic("police"), [(batch, [])], key=b"k"))
    worker = start_worker(s, tmp_path / "worker.log")
    try:
        asyncio.run(consume(s, [s.quarantine_topic], until=1, timeout_s=45))
    finally:
        assert stop_process(worker) == 0

    code, out = cli(s, "list", "--wait", "1")
    assert code == 0
    assert "@0#1" in out  # the record's offset and the event's index
    code, out = cli(s, "list", "--json", "--wait", "1")
    [listed] = [json.loads(x) for x in out.splitlines()]
    assert listed["source"]["index"] == 1
    assert (listed["reason"], listed["original_omitted"]) == ("unknown_schema", True)

    code, out = cli(s, "redrive", "--reason", "unknown_schema", "--wait", "1")
    assert code == 0
    assert json.loads(out.splitlines()[-1])["redriven"] == 1
    feed = asyncio.run(consume(s, [s.feed_topic("police")], until=2, timeout_s=10))
    assert [r.value for r in feed] == [batch, oversized]  # the event alone, with its seal
    (seal,) = [v for k, v in feed[1].headers if k == SEAL_HEADER]
    verifier = SealVerifier(
        {"police": Keyring.open(s.keys_dir).verify_keys(agency_owner("police"))}
    )
    assert verifier.verify(oversized, seal).index == 1
