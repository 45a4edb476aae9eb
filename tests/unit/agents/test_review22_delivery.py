"""Review of ``deliver22`` (``agents/sending.py``): a record is acknowledged only once its
outputs are delivered.

The sequencer's agent (and the correlation agent's, which iterated its stream the same way:
``test_correlate_acks.py``) read ``stream.events()``, a stream that acknowledges: faust
acknowledges the record its loop body was on when the iterator is closed, in the ``finally``
around its ``yield``. Both now read a ``noack()`` stream and acknowledge a record as the last
step of its loop body. A worker
stopping (mode stops the agents before the consumer, whose ``on_stop`` commits what was
acknowledged) cancels an agent that is waiting in :func:`agents.sending.send_all` for a
delivery the broker has not answered. The record must then stay unacknowledged, to be read
again; these tests read faust's own ``Message.acked`` on a real faust stream.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hub.errors import BrokerAccessDeniedError
from tests.faustfeed import close_app, run_agent, settle_loop
from tests.unit.agents.test_deliver22_delivery import denied
from tests.unit.agents.test_deliver22_sequence import SETTLE_S, Sequencer

pytestmark = pytest.mark.timeout(30)


class Unanswered(Sequencer):
    """The sequencer whose quarantine deliveries the broker never answers (it is down, and
    aiokafka's ``request_timeout_ms``, 20 minutes in faust, has not run out)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(monkeypatch)
        self.waiting = asyncio.Event()

    async def send(self, topic: Any, *, value: bytes, **_: Any) -> asyncio.Future[None]:
        assert topic.get_topic_name() == self.settings.quarantine_topic
        self.queued.append((value, self.acked()))
        self.waiting.set()
        return asyncio.get_running_loop().create_future()  # never settled


async def test_a_sequencer_cancelled_while_waiting_for_a_delivery_acknowledges_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sequencer = Unanswered(monkeypatch)
    try:
        task = run_agent(sequencer.app, "sequence", sequencer.channel)
        await sequencer.put(10)
        await asyncio.wait_for(sequencer.waiting.wait(), SETTLE_S)
        await settle_loop()
        assert sequencer.acked() == []  # waiting for the delivery: not acknowledged yet
        task.cancel()  # the worker stops (or the agent is restarted) meanwhile
        await asyncio.gather(task, return_exceptions=True)
        await settle_loop()
        assert sequencer.delivered == []
        assert sequencer.acked() == []  # read again after the restart, not committed
    finally:
        close_app(sequencer.app)


async def test_the_check_sees_an_acknowledgement(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same reading of ``Message.acked`` sees faust's acknowledgement of a record whose
    quarantine was delivered (so the test above can fail for the right reason)."""
    sequencer = Sequencer(monkeypatch)
    try:
        task = run_agent(sequencer.app, "sequence", sequencer.channel)
        await sequencer.put(10)
        await sequencer.put(11)
        await asyncio.wait_for(sequencer.both_delivered.wait(), SETTLE_S)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await settle_loop()
        assert 10 in sequencer.acked()
    finally:
        close_app(sequencer.app)


class Refused(Sequencer):
    """The sequencer whose quarantine topic the broker refuses for good (an ACL)."""

    async def send(self, topic: Any, *, value: bytes, **_: Any) -> asyncio.Future[None]:
        self.queued.append((value, self.acked()))
        delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        delivery.set_exception(denied())
        return delivery


async def test_a_sequencer_whose_quarantine_is_refused_acknowledges_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sequencer = Refused(monkeypatch)
    try:
        task = run_agent(sequencer.app, "sequence", sequencer.channel)
        await sequencer.put(10)
        (outcome,) = await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), SETTLE_S)
        assert isinstance(outcome, BrokerAccessDeniedError)  # the agent crashed, as documented
        await settle_loop()
        assert len(sequencer.queued) == 1
        assert sequencer.acked() == []  # read again once the agent or worker restarts
    finally:
        close_app(sequencer.app)
