"""A record is acknowledged only once the broker has its table rows' changelog records too.

faust queues a table's changelog record (``Table.send_changelog``: ``Topic.send_soon`` into its
producer buffer) and nobody awaited its delivery: one that failed (aiokafka's retries run out,
or an ACL denies the changelog topic) was only logged by faust (``Topic._on_published`` sets
the exception on the ``FutureMessage`` and skips ``_on_changelog_sent``), while the record was
acknowledged with its row in memory only, and a restart or a rebalance lost it. These tests run
faust's own table and changelog path (``VerifiedTable.send_changelog`` →
``Topic.send_soon`` → ``app.producer.send_soon``); only the producer's ``send_soon`` is a
stand-in, which settles each record's ``FutureMessage`` a loop step later as
``_on_published`` does. The ingest tests read faust's own acknowledgements on a real faust
stream (``tests/unit/agents/test_deliver22_delivery.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import faust
import pytest
from faust.types.tuples import FutureMessage, Message
from structlog.testing import capture_logs

from agents.app import bare_app
from agents.correlate import CorrelateAgent
from agents.ingest import IngestAgent
from agents.tables import SealedRows, VerifiedTable, verified_table
from hub.config import Settings
from hub.correlation import SUBJECTS, Correlation, Outcome, Outgoing, Result, RowWrite
from hub.crypto import HmacKey
from hub.crypto.tablevalue import Row, seal_value, value_of
from hub.crypto.trust import RecordVerifier, TrustedKeys, Window
from hub.errors import BrokerAccessDeniedError
from hub.quarantine import QuarantineRecord
from hub.seen import SeenEvents
from hub.sna.stream import TABLE as SNA_TABLE
from tests.unit.agents.test_deliver22_delivery import (
    Feed,
    Producer,
    Topic,
    accepted_ids,
    denied,
    ids,
    ingest_one,
    lost,
    never,
)
from tests.unit.ingest.test_batch_ingest import SETTINGS, TOPIC, VALUES, context, ingest
from tests.unit.ingest.test_ingest_groups import batch

pytestmark = pytest.mark.timeout(30)

KEY = HmacKey(b"\x62" * 32)
VERIFIER = RecordVerifier(TrustedKeys(internal={KEY.key_id: (KEY, Window())}))

Record = tuple[Any, bytes, bytes]
"""A changelog record as faust queues it: partition, key, value."""


class Changelog:
    """faust's producer as a table's ``send_changelog`` reaches it (``send_soon``): each
    record's ``FutureMessage`` is settled a loop step later, failed for the records ``fail``
    picks (with its error), as ``Topic._on_published`` settles it from aiokafka's answer."""

    def __init__(self, app: Any, fail: Callable[[Record, int], BaseException | None]) -> None:
        self.fail = fail
        self.queued: list[Record] = []
        self.delivered: list[Record] = []
        self.settled: list[tuple[Record, bool]] = []
        self.on_settle: Callable[[Record], None] = lambda record: None
        app.producer.send_soon = self.send_soon

    def send_soon(self, fut: FutureMessage) -> None:
        message = fut.message
        record = cast("Record", (message.partition, message.key, message.value))
        error = self.fail(record, self.queued.count(record))
        self.queued.append(record)

        def settle() -> None:
            self.on_settle(record)
            self.settled.append((record, error is None))
            if error is None:
                self.delivered.append(record)
                fut.set_result(cast("Any", None))
            else:
                fut.set_exception(error)

        asyncio.get_running_loop().call_soon(settle)


def emptied(record: Record) -> bool:
    """Whether a seen-events changelog record is a forgotten (emptied) row."""
    return value_of(record[2]).value == b""


@pytest.fixture
async def feed() -> AsyncIterator[Feed]:
    made = Feed()
    yield made
    cast("Any", made.app.consumer)._thread.thread_loop.close()


def ingest_agent(feed: Feed, producer: Producer) -> tuple[IngestAgent, VerifiedTable]:
    """The worker's ingest agent (``register_ingest``) over a real seen-events table."""
    table = verified_table(feed.app, "seen-events", VERIFIER, SETTINGS.partitions, packed=True)
    rows = SealedRows(table, context().internal_key)
    agent = IngestAgent(
        ingest(),
        SeenEvents(rows),
        rows,
        feeds={TOPIC: "police"},
        send=producer.send,
        quarantine_topic=SETTINGS.quarantine_topic,
    )
    return agent, table


def stored(table: VerifiedTable) -> dict[bytes, bytes]:
    return {key: value_of(value).value for key, value in table.data.items()}


async def test_faust_only_sets_a_failed_changelog_delivery_on_its_future(feed: Feed) -> None:
    """The fact the fix rests on: faust's ``_on_published`` sets a failed delivery's error on
    the ``FutureMessage`` ``send_changelog`` returned, and never calls ``_on_changelog_sent``
    (so nothing in faust raises or retries); only a wait on that future sees it."""
    _, table = ingest_agent(feed, Producer(never))
    futures: list[FutureMessage] = []
    producer: Any = feed.app.producer
    producer.send_soon = futures.append
    called: list[FutureMessage] = []
    cast("Any", table)._on_changelog_sent = called.append
    sent = table.send_changelog(2, b"row", b"value")
    assert futures == [sent]
    failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    failed.set_exception(denied())
    topic: Any = table.changelog_topic
    topic._on_published(failed, message=sent, producer=producer, state=None)
    assert isinstance(sent.exception(), BrokerAccessDeniedError)
    assert called == []


async def test_ingest_acks_a_record_only_once_its_changelog_record_is_delivered(
    feed: Feed,
) -> None:
    """The group's changelog record fails for a while (aiokafka's retries ran out): it is sent
    again, the same row, and the record acknowledged only once that is delivered."""
    producer = Producer(never)
    agent, table = ingest_agent(feed, producer)
    changelog = Changelog(feed.app, lambda record, tries: lost() if tries == 0 else None)
    acked_at_settle: list[list[int]] = []
    changelog.on_settle = lambda record: acked_at_settle.append(feed.acked())
    await feed.put(batch(VALUES[:4]))
    await ingest_one(feed, agent)

    assert feed.acked() == [10]
    (first, again) = changelog.queued
    assert first == again  # the same row, at the same version
    assert changelog.settled == [(first, False), (first, True)]
    assert acked_at_settle == [[], []]  # both before the record was acknowledged
    assert accepted_ids(producer) == ids(VALUES[:4])
    assert stored(table)  # the row the changelog has


async def test_ingest_quarantines_a_record_whose_row_the_changelog_refuses_for_good(
    feed: Feed,
) -> None:
    """The broker refuses the record's row for good: the record is not acknowledged as
    processed but goes the error path, its events forgotten (the emptied row delivered to
    the changelog, so memory and changelog agree) and it quarantined; a redrive is accepted."""
    refusing = [True]
    producer = Producer(never)
    agent, table = ingest_agent(feed, producer)
    changelog = Changelog(
        feed.app,
        lambda record, tries: denied() if refusing[0] and not emptied(record) else None,
    )
    value = batch(VALUES[:4])
    await feed.put(value)
    await ingest_one(feed, agent)

    assert feed.acked() == [10]
    quarantined = [m for m in producer.delivered if m.topic == SETTINGS.quarantine_topic]
    (record,) = [QuarantineRecord.from_bytes(m.value) for m in quarantined]
    assert record.source.offset == 10
    assert changelog.delivered
    assert all(emptied(r) for r in changelog.delivered)
    assert set(stored(table).values()) == {b""}  # memory claims no more than the changelog

    refusing[0] = False
    await feed.put(value)  # its redrive, at a new position
    await ingest_one(feed, agent)
    assert feed.acked() == [10, 11]
    assert not all(emptied(r) for r in changelog.delivered)  # the redrive's row delivered


async def test_ingest_never_acks_a_record_the_changelog_refuses_to_forget(feed: Feed) -> None:
    """The changelog refuses every row (an ACL on it): even the emptied row that would forget
    the record's events. The agent's loop gets the error and does not acknowledge the record
    (its events stay in memory as they may be on the changelog)."""
    producer = Producer(never)
    agent, _ = ingest_agent(feed, producer)
    Changelog(feed.app, lambda record, tries: denied())
    await feed.put(batch(VALUES[:4]))
    with pytest.raises(BrokerAccessDeniedError):
        await ingest_one(feed, agent)
    assert feed.acked() == []
    assert SETTINGS.quarantine_topic not in {m.topic for m in producer.queued}


class Service:
    """The correlation service's ``handle``: the same result for any record."""

    def __init__(self, result: Result) -> None:
        self.result = result

    async def handle(self, value: bytes, place: Any, offset: int) -> Result:
        return self.result


def correlate_agent(producer: Producer, result: Result) -> CorrelateAgent:
    """The correlation agent over its real tables, sending outputs through ``producer``."""
    app = bare_app(Settings(broker_url="kafka://127.0.0.1:9", app_id="changelog22"))
    agent = CorrelateAgent.__new__(CorrelateAgent)
    agent.tables = {
        name: verified_table(app, name, VERIFIER, 4, packed=True) for name in (SUBJECTS, SNA_TABLE)
    }
    agent.service = cast("Correlation", Service(result))
    agent.topics = {
        t: cast("faust.TopicT", Topic(t, producer))
        for t in (SETTINGS.outbox_topic, SETTINGS.decisions_topic)
    }
    agent.quarantine = cast("faust.TopicT", Topic(SETTINGS.quarantine_topic, producer))
    return agent


def row(table: str, key: bytes, value: bytes) -> RowWrite:
    return RowWrite(table, key, seal_value(KEY, Row(table, 1, key), 40, value))


RESULT = Result(
    Outcome("events"),
    outbox=(Outgoing(SETTINGS.outbox_topic, 0, b"k", b"alert"),),
    rows=(row(SUBJECTS, b"subject", b"window"), row(SNA_TABLE, b"pair", b"count")),
)


def accepted_event() -> Any:
    message = Message(SETTINGS.accepted_topic, 1, 40, 0.0, 0, {}, b"k", b"v", None)
    return type("E", (), {"message": message, "value": b"v"})()


async def test_correlate_returns_only_once_its_rows_changelog_records_are_delivered() -> None:
    """Each table's changelog record fails once for a while: both are sent again, and the
    record's handling (after which the agent's loop acknowledges it) returns only once both
    are delivered; the rows are in memory only then."""
    producer = Producer(never)
    agent = correlate_agent(producer, RESULT)
    app = agent.tables[SUBJECTS].app
    changelog = Changelog(app, lambda record, tries: lost() if tries == 0 else None)
    in_memory_at_settle: list[int] = []
    changelog.on_settle = lambda record: in_memory_at_settle.append(
        sum(len(t.data) for t in agent.tables.values())
    )
    outcome = await asyncio.wait_for(agent.handle(accepted_event()), 5)

    assert outcome.kind == "events"
    assert len(changelog.queued) == 4  # two tables, each sent twice
    assert sorted(changelog.delivered) == sorted(set(changelog.queued))
    assert in_memory_at_settle == [0, 0, 0, 0]
    assert {name: stored(t) for name, t in agent.tables.items()} == {
        SUBJECTS: {b"subject": b"window"},
        SNA_TABLE: {b"pair": b"count"},
    }
    assert producer.delivered == [(SETTINGS.outbox_topic, b"alert")]


async def test_correlate_raises_a_changelog_refusal_with_memory_as_it_was() -> None:
    """The broker refuses the subjects table's changelog record for good: handling raises
    (the agent's loop then quarantines the record) and neither row is stored in memory."""
    producer = Producer(never)
    agent = correlate_agent(producer, RESULT)
    subjects = agent.tables[SUBJECTS]
    Changelog(subjects.app, lambda record, tries: denied() if record[1] == b"subject" else None)
    with pytest.raises(BrokerAccessDeniedError):
        await asyncio.wait_for(agent.handle(accepted_event()), 5)
    assert all(len(t.data) == 0 for t in agent.tables.values())


async def test_a_changelog_record_sent_again_recovers_as_it_was_sent_once() -> None:
    """A record sent again may reach the changelog twice (a timed-out delivery the broker
    had written after all): recovery applies the second copy as the first, the same row at the
    same version (``VerifiedTable._checked`` refuses only an older version), and refuses
    nothing."""
    producer = Producer(never)
    agent = correlate_agent(producer, RESULT)
    changelog = Changelog(agent.tables[SUBJECTS].app, lambda record, tries: None)
    await asyncio.wait_for(agent.handle(accepted_event()), 5)
    records = [r for r in changelog.delivered if r[1] == b"subject"]
    fresh = correlate_agent(producer, RESULT).tables[SUBJECTS]
    copies = [*records, *records]
    events = [
        type(
            "E",
            (),
            {
                "key": k,
                "value": v,
                "message": Message(f"c-{SUBJECTS}", p, n, 0.0, 0, {}, k, v, None),
            },
        )()
        for n, (p, k, v) in enumerate(copies)
    ]
    with capture_logs() as logs:
        fresh.apply_changelog_batch(events)
    assert stored(fresh) == {b"subject": b"window"}
    assert [e for e in logs if e["log_level"] != "debug"] == []
