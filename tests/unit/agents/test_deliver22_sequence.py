"""The sequencer acknowledges a record it quarantines only once the quarantine record is
delivered (it is sent through :func:`agents.sending.send_all`, as the other agents' outputs).

The agent is the worker's own (``register_sequencer``) over a real faust stream fed through a
local channel with no broker, faust's own acknowledgements read (``Message.acked``); only
faust's ``Topic.send`` is a stand-in, returning a delivery future that fails the first time
as aiokafka's does once its retries ran out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import faust
import pytest
from faust.types.tuples import Message

from agents.app import bare_app
from agents.sequence import register_sequencer
from hub.crypto.record import Kind, Place
from hub.crypto.trust import seal_record
from hub.errors import TransportError
from hub.quarantine import QuarantineRecord
from hub.runtime import load_worker_keys
from tests.faustfeed import close_app, put_record, run_agent
from tests.unit.ingest.test_batch_ingest import KEYRING, REGISTRY, SETTINGS

pytestmark = pytest.mark.timeout(30)
SETTLE_S = 10.0


class Sequencer:
    """The worker's sequencer agent, its stream, and what it sent to the quarantine."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.settings = SETTINGS.model_copy(
            update={"broker_url": "kafka://127.0.0.1:9", "app_id": "deliver22-sequence"}
        )
        self.app = bare_app(self.settings)
        self.app.flow_control.resume()
        self.keys = load_worker_keys(self.settings, KEYRING)
        register_sequencer(self.app, self.settings, REGISTRY, self.keys)
        monkeypatch.setattr(self.app.consumer, "assignment", frozenset)  # no partitions held
        # A function, not the bound method: set on the class, it must receive the topic too.
        fake = lambda t, **kw: self.send(t, **kw)  # noqa: E731, PLW0108  # see above
        monkeypatch.setattr(faust.topics.Topic, "send", fake)
        self.channel = self.app.channel()
        self.messages: list[Message] = []
        self.queued: list[tuple[bytes, list[int]]] = []  # value, offsets acked when queued
        self.delivered: list[bytes] = []
        self.both_delivered = asyncio.Event()

    async def send(self, topic: Any, *, value: bytes, **_: Any) -> asyncio.Future[None]:
        assert topic.get_topic_name() == self.settings.quarantine_topic
        first = value not in (v for v, _ in self.queued)
        self.queued.append((value, self.acked()))
        delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def settle() -> None:
            if first:
                delivery.set_exception(TransportError("cannot send: KafkaConnectionError"))
            else:
                self.delivered.append(value)
                delivery.set_result(None)
                if len(self.delivered) == 2:
                    self.both_delivered.set()

        asyncio.get_running_loop().call_soon(settle)
        return delivery

    async def put(self, offset: int) -> None:
        """An outbox record the hub sealed whose alert does not parse: quarantined."""
        place = Place(self.settings.outbox_topic, 0)
        at = datetime(2027, 1, 15, tzinfo=UTC)
        value = seal_record(Kind.ALERTS, at, [b"not an alert"], place, self.keys.internal)
        message = await put_record(
            self.app, self.channel, topic=place.topic, partition=0, offset=offset, value=value
        )
        self.messages.append(message)

    def acked(self) -> list[int]:
        return [m.offset for m in self.messages if m.acked]


@pytest.fixture
def sequencer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sequencer]:
    made = Sequencer(monkeypatch)
    yield made
    close_app(made.app)


async def test_a_quarantined_outbox_record_is_acked_only_once_its_quarantine_is_delivered(
    sequencer: Sequencer,
) -> None:
    task = run_agent(sequencer.app, "sequence", sequencer.channel)
    try:
        await sequencer.put(10)
        await sequencer.put(11)  # faust acks a record when its agent asks for the next one
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sequencer.both_delivered.wait(), SETTLE_S)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    offsets = [QuarantineRecord.from_bytes(v).source.offset for v in sequencer.delivered]
    assert offsets == [10, 11]  # each sent again after its failed delivery, then delivered
    queued = [
        (QuarantineRecord.from_bytes(v).source.offset, acked) for v, acked in sequencer.queued
    ]
    assert queued == [(10, []), (10, []), (11, [10]), (11, [10])]
