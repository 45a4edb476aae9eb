"""A send the broker fails is retried until it goes through, never quarantined: the agent's
outputs wait for the broker, in order, and the record is acknowledged only after them.

What is tested is :func:`agents.sending.send_all` and the ingest agent over it, with a sender
that fails the way aiokafka's producer does (a timeout, a connection lost) or for good (a
message too large); the broker itself is exercised by the integration tests.
"""

from __future__ import annotations

import asyncio

import pytest

from agents.ingest import IngestAgent
from agents.sending import RETRY_FIRST_S, RETRY_MAX_S, send_all
from hub.crypto.record import parse
from hub.errors import TransportError
from hub.ingest import Outbound
from tests.unit.ingest.test_batch_ingest import SETTINGS, STORE, VALUES
from tests.unit.ingest.test_ingest_groups import (
    ACCEPTED,
    Event,
    Stream,
    batch,
    event_ids,
    feed_event,
    ingest_agent,
    reader,
)


class Flaky:
    """Fails the first ``failures`` sends with ``error``, then sends."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.sent: list[object] = []
        self.waits: list[float] = []

    async def send(self, message: object) -> None:
        if self.failures:
            self.failures -= 1
            raise self.error
        self.sent.append(message)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


async def run(agent: IngestAgent, stream: Stream, *events: Event) -> Stream:
    """The agent's loop (``register_ingest``) over ``events``: each group handled, then acked."""
    stream.put(*events, None)
    groups = reader(stream)
    async for group in groups:
        await agent.handle_group(group)
        await groups.ack(group)
    return stream


async def test_a_send_the_broker_fails_is_retried_with_backoff_and_order_kept() -> None:
    flaky = Flaky(7, TransportError("cannot send: KafkaTimeoutError"))
    await send_all(["a", "b", "c"], flaky.send, agent="ingest", sleep=flaky.sleep)
    assert flaky.sent == ["a", "b", "c"]
    assert flaky.waits == [min(RETRY_FIRST_S * 2**n, RETRY_MAX_S) for n in range(7)]
    assert flaky.waits[-1] == RETRY_MAX_S


async def test_a_send_that_can_never_succeed_is_raised_at_once() -> None:
    flaky = Flaky(1, ValueError("message too large"))
    with pytest.raises(ValueError, match="too large"):
        await send_all(["a", "b"], flaky.send, agent="ingest", sleep=flaky.sleep)
    assert (flaky.sent, flaky.waits) == ([], [])


async def test_a_retrying_send_stops_when_the_agent_is_cancelled() -> None:
    flaky = Flaky(10**9, TransportError("cannot send: KafkaConnectionError"))
    waiting = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waiting.set()
        await asyncio.Event().wait()  # a wait that only cancellation ends

    task = asyncio.ensure_future(send_all(["a"], flaky.send, agent="ingest", sleep=sleep))
    await asyncio.wait_for(waiting.wait(), 5)  # it is waiting to try again
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert flaky.sent == []


async def test_ingest_waits_out_a_broker_failure_and_quarantines_nothing() -> None:
    """The reviewer's case: the accepted record's send times out twice. The group's events
    are all accepted once the broker is back, nothing is quarantined (a quarantined record
    whose seen-events row was stored would have its events refused as duplicates when the
    agency sends them again), and nothing was acknowledged while they were unsent."""
    stream = Stream()
    sent: list[Outbound] = []
    acked_at_failure: list[int] = []
    failures = [2]

    async def send(out: Outbound) -> None:
        if out.topic == ACCEPTED and failures[0]:
            failures[0] -= 1
            acked_at_failure.append(len(stream.acked))
            raise TransportError("cannot send: KafkaTimeoutError")
        sent.append(out)

    agent = ingest_agent(send)
    events = [feed_event(10 + n, batch(VALUES[4 * n : 4 * n + 4])) for n in range(3)]
    await run(agent, stream, *events)

    assert acked_at_failure == [0, 0]
    assert stream.acked == events
    assert [m.topic for m in sent if m.topic != ACCEPTED] == []  # no quarantine record
    accepted = [i for m in sent if m.topic == ACCEPTED for i in event_ids(m.value)]
    ids = [STORE.decode(v).record["envelope"]["event_id"] for v in VALUES[:12]]
    assert sorted(accepted) == sorted(ids)  # each once: the failed sends never went out
    assert all(parse(m.value).items for m in sent)


async def test_a_record_quarantined_after_its_events_were_stored_is_accepted_redriven() -> None:
    """An accepted record the broker can never take (too large): the feed record is
    quarantined whole, and its events, stored as accepted before the send, are forgotten, so
    that its redrive from the quarantine (a new feed position) is accepted rather than
    refused as ``duplicate_event``."""
    sent: list[Outbound] = []
    refusing = [True]

    async def send(out: Outbound) -> None:
        if out.topic == ACCEPTED and refusing[0]:
            raise ValueError("message too large")
        sent.append(out)

    agent = ingest_agent(send)
    value = batch(VALUES[:4])
    first = feed_event(10, value)
    stream = await run(agent, Stream(), first)
    assert [m.topic for m in sent] == [SETTINGS.quarantine_topic]
    assert stream.acked == [first]

    refusing[0] = False
    await run(agent, Stream(), feed_event(11, value))  # its redrive, at a new position
    accepted = [i for m in sent if m.topic == ACCEPTED for i in event_ids(m.value)]
    ids = [STORE.decode(v).record["envelope"]["event_id"] for v in VALUES[:4]]
    assert sorted(accepted) == sorted(ids)
    assert [m.topic for m in sent].count(SETTINGS.quarantine_topic) == 1  # no duplicates
