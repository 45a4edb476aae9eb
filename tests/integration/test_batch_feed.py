"""Batch feed records through a real worker on the real broker.

One record carries a sealed batch: its good events come out as one accepted record per
destination partition (in input order), its bad event is quarantined alone naming the
record's position and the event's index, a record with a broken signature is quarantined as
one, a single-event record beside them still works, and the de-duplication rows (one per
feed record) survive a restart: the same batch sent again at another offset is all
``duplicate_event``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka.structs import ConsumerRecord

from hub.config import Settings
from hub.crypto.batchrecord import parse_batch_record
from hub.crypto.record import Kind
from hub.process import start_worker, stop_process
from hub.quarantine import QuarantineRecord
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from tests.integration.events import (
    READING_LSOA,
    STORE,
    accepted_ids,
    batch_record,
    items_of,
    one,
    record,
)
from tests.integration.kafka import produce, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]

GOOD = 12
BAD_AT = 5


def quarantined(records: list[ConsumerRecord[bytes, bytes]]) -> list[QuarantineRecord]:
    return [QuarantineRecord.from_bytes(r.value or b"") for r in records]


def indexes_at(records: list[ConsumerRecord[bytes, bytes]], offset: int) -> set[int | None]:
    """The event indexes quarantined from the feed record at ``offset``."""
    return {q.source.index for q in quarantined(records) if q.source.offset == offset}


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_a_batch_record_is_judged_per_event_and_deduplicated_across_a_restart(
    hub_settings: Settings, tmp_path: Path, store: str
) -> None:
    s = hub_settings.model_copy(update={"table_store": store, "state_dir": tmp_path / "state"})
    await create_topics(
        kafka_endpoint(s), plan_topics(s, load_registry(s.deploy_dir / "registry.yaml"))
    )
    items = [
        ("police.arrest", record("police.arrest", "police", READING_LSOA, 300 + n))
        for n in range(GOOD)
    ]
    items.insert(
        BAD_AT, ("police.arrest", record("police.arrest", "police", READING_LSOA, 399, age=130))
    )
    batch = batch_record(s, "police", items)
    broken = bytearray(batch_record(s, "police", items[:3]))
    broken[-1] ^= 0x01
    single = one(s, "police.violent_incident", "police", READING_LSOA, 398)
    feed = s.feed_topic("police")
    await produce(s, feed, [(batch, []), (bytes(broken), []), single], key=b"one-partition")

    worker = start_worker(s, tmp_path / "worker.log")
    try:
        accepted = await wait_for(
            s, [s.accepted_topic], lambda r: len(accepted_ids(r)) >= GOOD + 1, timeout_s=60
        )
        refused = await wait_for(s, [s.quarantine_topic], lambda r: len(r) >= 2, timeout_s=30)
    finally:
        assert stop_process(worker) == 0

    # An accepted record names the feed records its events came from: ingest may have read the
    # three records as one group, so the batch's events can share a record with the single one.
    from_batch = [r for r in accepted if any(p.endswith(b":0") for p in sources(r))]
    assert len({r.partition for r in from_batch}) == len(from_batch)  # one per partition
    sent = [
        STORE.decode(v).record["envelope"]["event_id"] for v in parse_batch_record(batch).events
    ]
    good_ids = [i for n, i in enumerate(sent) if n != BAD_AT]
    for r in from_batch:  # each partition's events in the batch's order
        ids = [STORE.decode(v).record["envelope"]["event_id"] for v in items_of([r], Kind.EVENTS)]
        ids = [i for i in ids if i in sent]
        assert ids == [i for i in good_ids if i in ids]
    assert sorted(i for i in accepted_ids(from_batch) if i in sent) == sorted(good_ids)
    assert len(accepted_ids(accepted)) == GOOD + 1  # and the single-event record

    distinct = {(q.source.offset, q.source.index): q for q in quarantined(refused)}
    bad_event, whole = sorted(distinct.values(), key=lambda q: q.source.offset)
    assert (bad_event.reason, bad_event.source.offset, bad_event.source.index) == (
        "invalid_field",
        0,
        BAD_AT,
    )
    assert bad_event.source.topic == feed
    assert (whole.reason, whole.source.offset, whole.source.index) == ("bad_signature", 1, None)
    assert whole.original == bytes(broken)

    await produce(s, feed, [(batch, [])], key=b"one-partition")  # the same batch, offset 3
    worker = start_worker(s, tmp_path / "worker2.log")
    try:
        # Offsets 0 to 2 may be delivered again (at least once): wait for every index of 3.
        refused = await wait_for(
            s,
            [s.quarantine_topic],
            lambda r: indexes_at(r, 3) == set(range(GOOD + 1)),
            timeout_s=60,
        )
    finally:
        assert stop_process(worker) == 0
    again = [q for q in quarantined(refused) if q.source.offset == 3]  # at least once each
    assert {q.source.index for q in again} == set(range(GOOD + 1))
    assert {q.reason for q in again if q.source.index != BAD_AT} == {"duplicate_event"}


def sources(record: ConsumerRecord[bytes, bytes]) -> list[bytes]:
    """The feed positions an accepted record's ``vru-source`` header names."""
    return dict(record.headers).get("vru-source", b"").split(b",")
