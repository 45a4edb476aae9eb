"""A record is acknowledged only once the broker has its outputs, not once they are queued.

faust's ``await topic.send(...)`` returns when aiokafka's producer has queued the message,
with a future the broker's answer settles later; a delivery that fails there is only logged
by faust, and faust commits the offsets anyway (docs/reliability.md). These tests send
through stand-ins that return such a future and fail it the way aiokafka does (a retriable
error once its retries ran out, or an ACL's denial; as the hub's errors, since only
``tests/unit/transport`` may import aiokafka's): the record is acknowledged only after a
delivered re-send, or goes the error path (quarantined, its seen rows forgotten) and is
acknowledged with its quarantine record delivered. The ingest tests
read faust's own acknowledgements (``Message.acked``) on a real faust stream, as
``tests/unit/ingest/test_accept22_faust_acks.py`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import faust
import pytest
from faust.types.tuples import Message

from agents.app import bare_app
from agents.correlate import CorrelateAgent
from agents.groups import RecordGroups
from agents.ingest import IngestAgent
from agents.sending import RETRY_FIRST_S, send_all
from hub.config import Settings
from hub.correlation import Outcome, Outgoing, Result
from hub.errors import BrokerAccessDeniedError, TransportError
from hub.ingest import Outbound
from hub.quarantine import QuarantineRecord
from tests.faustfeed import put_record
from tests.unit.ingest.test_batch_ingest import SETTINGS, STORE, TOPIC, VALUES
from tests.unit.ingest.test_ingest_groups import ACCEPTED, batch, event_ids, ingest_agent

pytestmark = pytest.mark.timeout(30)


def lost() -> TransportError:
    """A delivery the broker failed for a while (aiokafka's ``KafkaConnectionError`` once
    ``request_timeout_ms`` ran out; ``tests/unit/transport/test_failure.py`` holds
    :func:`hub.transport.retriable` to treat the raw error the same way)."""
    return TransportError("cannot send: KafkaConnectionError")


def denied() -> BrokerAccessDeniedError:
    """A delivery the broker refuses for good (an ACL's ``TopicAuthorizationFailedError``)."""
    return BrokerAccessDeniedError("send", "TopicAuthorizationFailedError")


class Producer:
    """Queues each message at once and settles its delivery a loop step later, failing the
    deliveries ``fail`` picks (with the error it returns) as aiokafka's sender fails a batch."""

    def __init__(self, fail: Callable[[Any, int], BaseException | None]) -> None:
        self.fail = fail
        self.queued: list[Any] = []
        self.delivered: list[Any] = []
        self.waits: list[float] = []

    async def send(self, message: Any) -> asyncio.Future[None]:
        error = self.fail(message, sum(m == message for m in self.queued))
        self.queued.append(message)
        delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def settle() -> None:
            if error is None:
                self.delivered.append(message)
                delivery.set_result(None)
            else:
                delivery.set_exception(error)

        asyncio.get_running_loop().call_soon(settle)
        return delivery

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def never(message: Any, tries: int) -> None:
    return None


async def test_send_all_returns_only_once_every_delivery_is_settled() -> None:
    held: list[asyncio.Future[None]] = []

    async def send(message: str) -> asyncio.Future[None]:
        held.append(asyncio.get_running_loop().create_future())
        return held[-1]

    task = asyncio.ensure_future(send_all(["a", "b", "c"], send, agent="ingest"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(held) == 3  # all queued before any delivery is awaited: one round trip
    assert not task.done()
    for future in held:
        future.set_result(None)
    await asyncio.wait_for(task, 5)


async def test_a_delivery_the_broker_failed_for_a_while_is_sent_again() -> None:
    """The retriable error aiokafka gives a batch whose ``request_timeout_ms`` ran out: the
    message is sent again (after a backoff) until delivered, and the others only once."""
    producer = Producer(lambda m, tries: lost() if m == "b" and tries < 2 else None)
    await send_all(["a", "b", "c"], producer.send, agent="ingest", sleep=producer.sleep)
    assert producer.queued == ["a", "b", "c", "b", "b"]
    assert producer.delivered == ["a", "c", "b"]
    assert producer.waits == [RETRY_FIRST_S, RETRY_FIRST_S * 2]


async def test_a_delivery_the_broker_refuses_for_good_is_raised_and_not_sent_again() -> None:
    refused = denied()
    producer = Producer(lambda m, tries: refused if m == "b" else None)
    with pytest.raises(BrokerAccessDeniedError):
        await send_all(["a", "b", "c"], producer.send, agent="ingest", sleep=producer.sleep)
    assert producer.queued == ["a", "b", "c"]
    assert producer.waits == []


class Feed:
    """The worker's faust app with no broker, and a local channel of feed records."""

    def __init__(self) -> None:
        self.app = bare_app(Settings(broker_url="kafka://127.0.0.1:9", app_id="deliver22"))
        self.app.flow_control.resume()  # as the consumer does once partitions are assigned
        self.channel = self.app.channel()
        self.messages: list[Message] = []
        self.groups = RecordGroups(self.app.stream(self.channel))
        self.reading = aiter(self.groups)

    async def put(self, value: bytes) -> None:
        offset = 10 + len(self.messages)
        message = await put_record(
            self.app, self.channel, topic=TOPIC, partition=2, offset=offset, value=value
        )
        self.messages.append(message)

    def acked(self) -> list[int]:
        return [m.offset for m in self.messages if m.acked]


@pytest.fixture
async def feed() -> AsyncIterator[Feed]:
    made = Feed()
    yield made
    made.app.consumer._thread.thread_loop.close()


async def ingest_one(feed: Feed, agent: IngestAgent) -> None:
    """The worker's ingest loop (``register_ingest``) over one group, on faust's stream."""
    group = await asyncio.wait_for(anext(feed.reading), 5)
    await agent.handle_group(group)
    await feed.groups.ack(group)


def accepted_ids(producer: Producer) -> list[str]:
    return sorted(i for m in producer.delivered if m.topic == ACCEPTED for i in event_ids(m.value))


def ids(values: list[bytes]) -> list[str]:
    return sorted(STORE.decode(v).record["envelope"]["event_id"] for v in values)


async def test_ingest_acks_a_record_only_after_its_accepted_record_is_delivered(
    feed: Feed,
) -> None:
    acked_at_send: list[list[int]] = []

    def fail(out: Outbound, tries: int) -> BaseException | None:
        acked_at_send.append(feed.acked())
        return lost() if tries == 0 else None

    producer = Producer(fail)
    await feed.put(batch(VALUES[:4]))
    await ingest_one(feed, ingest_agent(producer.send))

    assert feed.acked() == [10]
    assert accepted_ids(producer) == ids(VALUES[:4])  # delivered when it was acknowledged
    outputs = len(producer.delivered)
    assert len(producer.queued) == 2 * outputs  # each failed once, each sent again
    assert acked_at_send == [[]] * 2 * outputs  # all before the record was acknowledged
    assert SETTINGS.quarantine_topic not in {m.topic for m in producer.queued}


async def test_ingest_quarantines_a_record_whose_accepted_record_is_refused_for_good(
    feed: Feed,
) -> None:
    """The broker denies the accepted topic (an ACL): the record goes the error path, its
    quarantine record delivered before it is acknowledged, and the events it had stored as
    accepted forgotten, so its redrive is accepted."""
    refusing = [True]

    def fail(out: Outbound, tries: int) -> BaseException | None:
        if out.topic == ACCEPTED and refusing[0]:
            return denied()
        return None

    producer = Producer(fail)
    agent = ingest_agent(producer.send)
    value = batch(VALUES[:4])
    await feed.put(value)
    await ingest_one(feed, agent)

    assert [m.topic for m in producer.delivered] == [SETTINGS.quarantine_topic]
    (record,) = [QuarantineRecord.from_bytes(m.value) for m in producer.delivered]
    assert (record.source.offset, record.reason) == (10, "internal_error")
    assert feed.acked() == [10]

    refusing[0] = False
    await feed.put(value)  # its redrive, at a new position
    await ingest_one(feed, agent)
    assert accepted_ids(producer) == ids(VALUES[:4])
    assert feed.acked() == [10, 11]


class Topic:
    """A faust topic's ``send`` as the correlation agent calls it, over :class:`Producer`."""

    def __init__(self, name: str, producer: Producer) -> None:
        self.name = name
        self.producer = producer

    async def send(self, **message: Any) -> asyncio.Future[None]:
        return await self.producer.send((self.name, message["value"]))


def correlate_agent(producer: Producer) -> CorrelateAgent:
    """The correlation agent's sending half (its service and tables are not used here)."""
    agent = CorrelateAgent.__new__(CorrelateAgent)
    agent.topics = {
        t: cast("faust.TopicT", Topic(t, producer))
        for t in (SETTINGS.outbox_topic, SETTINGS.decisions_topic)
    }
    agent.quarantine = cast("faust.TopicT", Topic(SETTINGS.quarantine_topic, producer))
    return agent


async def test_correlate_writes_raise_a_refused_delivery_and_send_a_failed_one_again() -> None:
    """A record's outbox and decisions: one the broker failed for a while is delivered
    before ``write`` returns (so before its rows are stored and it is acknowledged); one the
    broker refuses is raised, which the agent's loop quarantines."""
    outbox = Outgoing(SETTINGS.outbox_topic, 0, b"k", b"alert")
    decision = Outgoing(SETTINGS.decisions_topic, 0, b"k", b"decision")
    result = Result(Outcome("events"), outbox=(outbox,), decisions=(decision,))
    flaky = Producer(lambda m, tries: lost() if tries == 0 else None)
    agent = correlate_agent(flaky)
    await agent.write(result, [])
    assert sorted(flaky.delivered) == [
        (SETTINGS.decisions_topic, b"decision"),
        (SETTINGS.outbox_topic, b"alert"),
    ]
    assert len(flaky.queued) == 4

    refusing = Producer(lambda m, tries: denied() if m[0] == SETTINGS.outbox_topic else None)
    with pytest.raises(BrokerAccessDeniedError):
        await correlate_agent(refusing).write(result, [])


async def test_correlate_quarantine_is_delivered_before_the_record_goes_on() -> None:
    flaky = Producer(lambda m, tries: lost() if tries < 2 else None)
    message = Message(SETTINGS.accepted_topic, 0, 5, 0.0, 0, {}, b"k", b"v", None)
    event = type("E", (), {"message": message, "value": b"v"})()
    outcome = await correlate_agent(flaky).quarantined(event, ValueError("undecidable"))
    assert outcome.kind == "quarantined"
    (delivered,) = flaky.delivered
    assert delivered[0] == SETTINGS.quarantine_topic
    assert QuarantineRecord.from_bytes(delivered[1]).source.offset == 5
    assert len(flaky.queued) == 3
