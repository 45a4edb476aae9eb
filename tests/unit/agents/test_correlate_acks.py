"""The correlation agent acknowledges a record only as the last step of its loop body.

faust's acking iterator (``stream.events()``) acknowledges the record its body was on when the
body raises or is cancelled. So a record whose quarantine the broker refused for good (an
ACL), or whose deliveries the agent was still waiting for when it was cancelled, was
acknowledged, and the next commit made the loss permanent (found by review22 for the
sequencer, which iterated the same way). The agent is the worker's own
(``register_correlate``) over a real faust stream fed through a local channel with no broker;
its record handling is a stand-in, and faust's own ``Message.acked`` is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from faust.types.tuples import Message

from agents.app import bare_app
from agents.correlate import CorrelateAgent, register_correlate
from hub.correlation.service import Outcome
from hub.errors import BrokerAccessDeniedError
from hub.policy import PolicyClock
from hub.runtime import load_correlator, load_worker_keys
from tests.faustfeed import close_app, put_record, run_agent, settle_loop
from tests.unit.agents.test_deliver22_delivery import denied
from tests.unit.ingest.test_batch_ingest import KEYRING, REGISTRY, SETTINGS

pytestmark = pytest.mark.timeout(30)
SETTLE_S = 10.0


class Correlate:
    """The worker's correlation agent over a local channel, its record handling given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, handle: Callable[[], Any]) -> None:
        self.settings = SETTINGS.model_copy(
            update={"broker_url": "kafka://127.0.0.1:9", "app_id": "correlate-acks"}
        )
        self.app = bare_app(self.settings)
        self.app.flow_control.resume()
        keys = load_worker_keys(self.settings, KEYRING)
        correlator = load_correlator(self.settings, REGISTRY, KEYRING)
        register_correlate(
            self.app, self.settings, correlator, REGISTRY, (PolicyClock(), keys, None)
        )
        self.handled: list[int] = []
        self.quarantined: list[int] = []
        self.waiting = asyncio.Event()

        async def handled(agent: CorrelateAgent, event: Any) -> Outcome:
            self.handled.append(event.message.offset)
            return await handle()

        async def refused(agent: CorrelateAgent, event: Any, exc: Exception) -> Outcome:
            self.quarantined.append(event.message.offset)
            raise denied()

        monkeypatch.setattr(CorrelateAgent, "handle", handled)
        monkeypatch.setattr(CorrelateAgent, "quarantined", refused)
        self.channel = self.app.channel()
        self.messages: list[Message] = []

    async def put(self, offset: int) -> None:
        topic = self.settings.accepted_topic
        message = await put_record(
            self.app, self.channel, topic=topic, partition=0, offset=offset, value=b"v"
        )
        self.messages.append(message)

    def acked(self) -> list[int]:
        return [m.offset for m in self.messages if m.acked]

    def start(self) -> asyncio.Future[None]:
        return run_agent(self.app, "correlate", self.channel)

    def close(self) -> None:
        close_app(self.app)


async def _processed() -> Outcome:
    return Outcome("events")


async def _undecidable() -> Outcome:
    raise ValueError("undecidable")


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[], Any]], Correlate]]:
    made: list[Correlate] = []

    def make(handle: Callable[[], Any]) -> Correlate:
        made.append(Correlate(monkeypatch, handle))
        return made[-1]

    yield make
    for one in made:
        one.close()


async def test_a_processed_record_is_acknowledged(made: Callable[..., Correlate]) -> None:
    """The check sees faust's acknowledgement (so the tests below can fail for their reason)."""
    correlate = made(_processed)
    task = correlate.start()
    await correlate.put(10)
    await correlate.put(11)
    deadline = asyncio.get_running_loop().time() + SETTLE_S
    # faust acks on the loop's next step: poll for it with a deadline
    while correlate.acked() != [10, 11] and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert correlate.acked() == [10, 11]


async def test_a_record_whose_quarantine_is_refused_is_not_acknowledged(
    made: Callable[..., Correlate],
) -> None:
    correlate = made(_undecidable)
    task = correlate.start()
    await correlate.put(10)
    (outcome,) = await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), SETTLE_S)
    assert isinstance(outcome, BrokerAccessDeniedError)  # the agent stops on it, loudly
    await settle_loop()
    assert correlate.quarantined == [10]
    assert correlate.acked() == []  # read again once the agent or the worker restarts


async def test_a_record_cancelled_mid_handling_is_not_acknowledged(
    made: Callable[..., Correlate],
) -> None:
    started = asyncio.Event()

    async def unanswered() -> Outcome:
        started.set()
        await asyncio.get_running_loop().create_future()  # a delivery never answered
        raise AssertionError("unreachable")

    correlate = made(unanswered)
    task = correlate.start()
    await correlate.put(10)
    await asyncio.wait_for(started.wait(), SETTLE_S)
    task.cancel()  # the worker stops, or the agent is restarted, meanwhile
    await asyncio.gather(task, return_exceptions=True)
    await settle_loop()
    assert correlate.handled == [10]
    assert correlate.acked() == []
