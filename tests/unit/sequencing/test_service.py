"""The sequencing service over the in-memory transport: numbering, de-duplication, rebuild,
sweep, retries, heartbeats and refusals (``hub.sequencing``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from structlog.testing import capture_logs

from hub.alerts import AlertRecord, encrypt_alert, number_alert, verify_record
from hub.alerts.headers import RecordMeta
from hub.crypto import HmacKey
from hub.crypto.record import Kind, Place
from hub.crypto.trust import RecordVerifier, TrustedKeys, Window, seal_record
from hub.errors import DecodeError, TransportError
from hub.sequencer import Pending
from hub.sequencing import Retry, SequencingKeys, SequencingService, SequencingTopics
from hub.transport.memory import MemoryTransport
from hub.transport.partitioner import partition_for
from hub.transport.record import Record
from tests.unit.alerts.builders import HUB, OTHER_HUB, READING, sample_body

INTERNAL = HmacKey(b"\x41" * 32)
MALLORY = HmacKey(b"\x42" * 32)
OUTBOX = "vru.outbox"
PARTITIONS = 4
AT = datetime(2024, 5, 6, 9, 30, tzinfo=UTC)
TOPICS = SequencingTopics(OUTBOX, lambda p: f"vru.alerts.{p}", PARTITIONS)
READING_PARTITION = partition_for(b"reading", PARTITIONS)


def keys() -> SequencingKeys:
    trusted = TrustedKeys(
        internal={INTERNAL.key_id: (INTERNAL, Window())},
        hub={HUB.verify_key.key_id: (HUB.verify_key, Window())},
    )
    return SequencingKeys(HUB, RecordVerifier(trusted))


def pending(alert_id: str, partnership: str = "reading") -> Pending:
    alert = encrypt_alert(sample_body(alert_id), partnership, READING.public_key)
    return Pending(partnership, alert_id, alert.value, alert.headers)


def transport() -> MemoryTransport:
    memory = MemoryTransport()
    memory.create(OUTBOX, PARTITIONS)
    memory.create(TOPICS.alerts("reading"))
    memory.create(TOPICS.alerts("slough"))
    return memory


class Sleeps:
    """The service's sleep: records each delay, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def service(memory: MemoryTransport, sleeps: Sleeps | None = None) -> SequencingService:
    return SequencingService(
        memory, TOPICS, keys(), clock=lambda: AT, retry=Retry(0.5, 2.0), sleep=sleeps or Sleeps()
    )


async def outbox_record(
    memory: MemoryTransport, items: list[Pending], key: HmacKey = INTERNAL, place: int | None = None
) -> Record:
    """An outbox record carrying ``items``, MACed for the partition it is written to (or for
    ``place``, to forge one bound elsewhere), as the stream would hand it over."""
    partition = READING_PARTITION
    sealed_for = Place(OUTBOX, partition if place is None else place)
    value = seal_record(Kind.ALERTS, AT, [p.to_bytes() for p in items], sealed_for, key)
    written = await memory.send(OUTBOX, value, key=b"reading", partition=partition)
    return memory.topics[OUTBOX][partition][written.offset]


async def published(memory: MemoryTransport, partnership: str = "reading") -> list[RecordMeta]:
    """Every record of the partnership's topic, verified as the hub's."""
    found: list[Record] = []
    await memory.read(TOPICS.alerts(partnership), 0, found.append)
    return [
        verify_record(AlertRecord(r.key or b"", r.value or b"", r.headers), (HUB.verify_key,))
        for r in found
    ]


async def test_the_alerts_of_one_outbox_record_are_numbered_in_order_without_gaps() -> None:
    memory = transport()
    taken = await service(memory).take(
        await outbox_record(memory, [pending("a"), pending("b"), pending("c")])
    )
    assert [(s.alert_id, s.seq) for s in taken.sequenced] == [("a", 1), ("b", 2), ("c", 3)]
    assert taken.refused is None
    assert [(m.id, m.seq) for m in await published(memory)] == [("a", 1), ("b", 2), ("c", 3)]


async def test_an_alert_id_sent_again_is_dropped_and_the_numbers_stay_gap_free() -> None:
    memory = transport()
    sequencer = service(memory)
    await sequencer.take(await outbox_record(memory, [pending("a"), pending("b")]))
    again = await sequencer.take(await outbox_record(memory, [pending("b"), pending("c")]))
    assert [(s.alert_id, s.seq) for s in again.sequenced] == [("b", None), ("c", 3)]
    assert [(m.id, m.seq) for m in await published(memory)] == [("a", 1), ("b", 2), ("c", 3)]


async def test_a_new_worker_rebuilds_from_the_topic_and_goes_on_from_the_last_number() -> None:
    memory = transport()
    await service(memory).take(await outbox_record(memory, [pending("a"), pending("b")]))
    restarted = service(memory)
    taken = await restarted.take(await outbox_record(memory, [pending("a"), pending("c")]))
    assert [(s.alert_id, s.seq) for s in taken.sequenced] == [("a", None), ("c", 3)]


async def test_a_forged_number_on_the_topic_changes_neither_numbering_nor_heartbeats() -> None:
    memory = transport()
    topic = TOPICS.alerts("reading")
    forged = number_alert(
        encrypt_alert(sample_body("x"), "reading", READING.public_key), 99, OTHER_HUB
    )
    await memory.send(topic, forged.value, key=forged.key, headers=forged.headers)
    sequencer = service(memory)
    assert await sequencer.beat("reading") == 0
    taken = await sequencer.take(await outbox_record(memory, [pending("x")]))
    assert [s.seq for s in taken.sequenced] == [1]  # "x" is not taken as sent: its forgery is not


async def test_another_partnerships_genuine_alert_on_the_topic_is_refused() -> None:
    memory = transport()
    theirs = number_alert(encrypt_alert(sample_body("s"), "slough", READING.public_key), 7, HUB)
    await memory.send(
        TOPICS.alerts("reading"), theirs.value, key=theirs.key, headers=theirs.headers
    )
    with capture_logs() as logs:
        rebuilt = await service(memory).log_of("reading")
    assert (rebuilt.last_seq, rebuilt.alert_ids) == (0, set())
    assert [e["reason"] for e in logs if e["event"] == "record_refused"] == ["misdirected_alert"]


async def test_a_record_that_is_not_the_hubs_is_refused_and_changes_nothing() -> None:
    memory = transport()
    sequencer = service(memory)
    by_mallory = await sequencer.take(await outbox_record(memory, [pending("a")], key=MALLORY))
    moved = await sequencer.take(
        await outbox_record(memory, [pending("b")], place=READING_PARTITION + 1)
    )
    assert (by_mallory.refused.reason if by_mallory.refused else None) == "unknown_key"
    assert (moved.refused.reason if moved.refused else None) == "bad_signature"
    assert by_mallory.sequenced == moved.sequenced == ()
    assert await published(memory) == []
    assert await sequencer.beat("reading") == 0


async def test_an_item_that_does_not_parse_is_raised_for_quarantine_and_nothing_is_sent() -> None:
    memory = transport()
    place = Place(OUTBOX, READING_PARTITION)
    value = seal_record(Kind.ALERTS, AT, [pending("a").to_bytes(), b"{not json"], place, INTERNAL)
    await memory.send(OUTBOX, value, partition=READING_PARTITION)
    [record] = memory.topics[OUTBOX][READING_PARTITION]
    with pytest.raises(DecodeError):
        await service(memory).take(record)
    assert await published(memory) == []


async def test_a_send_that_fails_is_retried_with_backoff_and_numbered_once() -> None:
    memory = transport()
    sleeps = Sleeps()
    record = await outbox_record(memory, [pending("a")])
    memory.fail_sends(3)
    taken = await service(memory, sleeps).take(record)
    assert [s.seq for s in taken.sequenced] == [1]
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert [(m.id, m.seq) for m in await published(memory)] == [("a", 1)]


async def test_a_sweep_after_reassignment_numbers_what_the_stream_skipped() -> None:
    memory = transport()
    skipped = await outbox_record(memory, [pending("a"), pending("b")])
    sequencer = service(memory)
    sequencer.reassigned(frozenset({READING_PARTITION}))
    swept = await sequencer.sweep()
    assert [(s.alert_id, s.seq) for s in swept] == [("a", 1), ("b", 2)]
    assert sequencer.unswept == frozenset()
    late = await sequencer.take(skipped)  # the stream reaches the record after all
    assert [s.seq for s in late.sequenced] == [None, None]
    assert [(m.id, m.seq) for m in await published(memory)] == [("a", 1), ("b", 2)]


async def test_a_sweep_skips_records_that_are_not_the_hubs() -> None:
    memory = transport()
    await outbox_record(memory, [pending("a")], key=MALLORY)
    sequencer = service(memory)
    sequencer.reassigned(frozenset({READING_PARTITION}))
    assert await sequencer.sweep() == ()
    assert await published(memory) == []


async def test_a_reassignment_forgets_what_was_read_and_reads_the_topic_again() -> None:
    memory = transport()
    first, second = service(memory), service(memory)
    first.reassigned(frozenset({READING_PARTITION}))
    await first.take(await outbox_record(memory, [pending("a")]))
    second.reassigned(frozenset({READING_PARTITION}))  # the partition moved to another worker
    await second.take(await outbox_record(memory, [pending("b")]))
    first.reassigned(frozenset({READING_PARTITION, 99}))  # and came back with another
    taken = await first.take(await outbox_record(memory, [pending("c")]))
    assert [s.seq for s in taken.sequenced] == [3]


async def test_heartbeats_go_to_the_partnerships_of_the_held_partitions_only() -> None:
    memory = transport()
    sequencer = service(memory)
    await sequencer.take(await outbox_record(memory, [pending("a")]))
    assert TOPICS.owner_of("slough") != READING_PARTITION
    await sequencer.tick(frozenset({READING_PARTITION}), ["reading", "slough"])
    beats = [m for m in await published(memory) if m.is_heartbeat]
    assert [m.last_seq for m in beats] == [1]
    assert await published(memory, "slough") == []


async def test_a_heartbeat_the_broker_refuses_is_deferred() -> None:
    memory = transport()
    memory.fail_sends(1)
    sequencer = service(memory)
    assert await sequencer.beat("reading") is None
    assert await sequencer.beat("reading") == 0
    assert [m.last_seq for m in await published(memory)] == [0]


class SlowReads(MemoryTransport):
    """The in-memory transport, each read yielding to the loop first: counts reads at once."""

    def __init__(self, failing: str = "") -> None:
        super().__init__()
        self.reading = 0
        self.most = 0
        self.failing = failing

    async def read(self, topic: str, partition: int, visit: Any, *, start: int = 0) -> int:
        if topic == self.failing:
            raise TransportError("the broker is unreachable")
        self.reading += 1
        self.most = max(self.most, self.reading)
        try:
            await asyncio.sleep(0)
            return await super().read(topic, partition, visit, start=start)
        finally:
            self.reading -= 1


async def test_a_heartbeat_round_reads_the_held_partnerships_topics_concurrently() -> None:
    memory = SlowReads()
    names = [f"p{n}" for n in range(12)]
    for name in names:
        memory.create(TOPICS.alerts(name))
    memory.create(OUTBOX, PARTITIONS)
    sequencer = service(memory)
    held = [n for n in names if TOPICS.owner_of(n) == READING_PARTITION]
    assert len(held) >= 2  # the fixture's names spread over partitions
    await sequencer.tick(frozenset({READING_PARTITION}), names)
    assert memory.most == len(held)  # one read per held partnership, all at once
    for name in names:  # a heartbeat to each held partnership, none to the others
        beats = [m.last_seq for m in await published(memory, name) if m.is_heartbeat]
        assert beats == ([0] if name in held else [])


async def test_a_rebuild_that_fails_is_left_to_the_partnership_it_belongs_to() -> None:
    memory = SlowReads(failing=TOPICS.alerts("slough"))
    for name in ("reading", "slough", "windsor"):
        memory.create(TOPICS.alerts(name))
    memory.create(OUTBOX, PARTITIONS)
    sequencer = service(memory)
    await sequencer.take(await outbox_record(memory, [pending("a")]))  # reading's: numbered 1
    sequencer.reassigned(frozenset({READING_PARTITION, 99}))  # every log forgotten
    await sequencer.rebuilt(["reading", "slough", "windsor"])
    assert set(sequencer.logs) == {"reading", "windsor"}
    taken = await sequencer.take(await outbox_record(memory, [pending("b")]))
    assert [s.seq for s in taken.sequenced] == [2]  # reading's log came from its topic


class SlowSends(MemoryTransport):
    """The in-memory transport, each send yielding to the loop first: counts sends at once."""

    def __init__(self) -> None:
        super().__init__()
        self.sending = 0
        self.most = 0

    async def send(self, topic: str, value: bytes, **kw: Any) -> Any:
        self.sending += 1
        self.most = max(self.most, self.sending)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            return await super().send(topic, value, **kw)
        finally:
            self.sending -= 1


def slow_sends() -> SlowSends:
    memory = SlowSends()
    memory.create(OUTBOX, PARTITIONS)
    for name in ("reading", "slough"):
        memory.create(TOPICS.alerts(name))
    return memory


async def test_one_records_alerts_go_to_different_partnerships_at_once_each_in_order() -> None:
    memory = slow_sends()
    sequencer = service(memory)
    items = [pending("r1"), pending("s1", "slough"), pending("r2"), pending("s2", "slough")]
    taken = await sequencer.take(await outbox_record(memory, items))
    assert [(s.partnership_id, s.alert_id, s.seq) for s in taken.sequenced] == [
        ("reading", "r1", 1),
        ("slough", "s1", 1),
        ("reading", "r2", 2),
        ("slough", "s2", 2),
    ]  # in the record's order, each partnership numbered gap-free
    assert memory.most == 2  # one send per partnership at a time, both partnerships at once
    for name, ids in (("reading", ["r1", "r2"]), ("slough", ["s1", "s2"])):
        metas = await published(memory, name)
        assert [m.seq for m in metas] == [1, 2]
        assert [m.id for m in metas] == ids


async def test_an_alert_that_cannot_be_numbered_is_raised_once_the_others_are_sent() -> None:
    memory = slow_sends()
    sequencer = service(memory)
    broken = Pending("slough", "s1", b"not an alert", ())
    record = await outbox_record(memory, [pending("r1"), broken, pending("r2")])
    number = sequencer.number

    async def refusing(p: Pending) -> int | None:
        if p.alert_id == "s1":
            raise DecodeError("an alert the hub cannot number")
        return await number(p)

    sequencer.number = refusing  # type: ignore[method-assign]  # one alert fails for good
    with pytest.raises(DecodeError):
        await sequencer.take(record)
    assert memory.sending == 0  # nothing of the record still on its way
    assert [m.id for m in await published(memory)] == ["r1", "r2"]


class HeldReads(MemoryTransport):
    """The in-memory transport, each read of a partnership's topic held until released: a
    reassignment can land while it is in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.reads = 0

    async def read(self, topic: str, partition: int, visit: Any, *, start: int = 0) -> int:
        if not topic.startswith("vru.alerts."):
            return await super().read(topic, partition, visit, start=start)
        self.reads += 1
        found: list[Record] = []  # what the topic holds when the read begins
        end = await super().read(topic, partition, found.append, start=start)
        self.started.set()
        await self.release.wait()
        for record in found:
            visit(record)
        return end


@pytest.mark.parametrize("many", [False, True])
async def test_a_log_read_across_a_reassignment_is_read_again(many: bool) -> None:
    """Another worker numbers an alert while this one is reading the topic, and this one's
    assignment changes meanwhile: what it read before is not kept, so its next number
    follows the other worker's."""
    memory = HeldReads()
    for name in ("reading", "slough"):
        memory.create(TOPICS.alerts(name))
    memory.create(OUTBOX, PARTITIONS)
    memory.release.set()
    other = service(memory)
    await other.take(await outbox_record(memory, [pending("a")]))  # reading: 1
    memory.release.clear()
    memory.started.clear()
    memory.reads = 0
    this = service(memory)
    reading = asyncio.ensure_future(
        this.rebuilt(["reading", "slough"]) if many else this.log_of("reading")
    )
    await memory.started.wait()
    # the read has begun (it would find 1); another worker takes the partition and numbers 2
    await other.take(await outbox_record(memory, [pending("b")]))
    this.reassigned(frozenset({READING_PARTITION}))  # and the partition comes back here
    memory.release.set()
    await reading
    if many:
        assert "reading" not in this.logs  # the reads in flight were not kept
    else:
        assert memory.reads == 2  # read again, after the reassignment
        assert this.logs["reading"].last_seq == 2
    taken = await this.take(await outbox_record(memory, [pending("c")]))
    assert [s.seq for s in taken.sequenced] == [3]
