"""An agent's outputs sent through a broker that may fail for a while, and delivered before
the agent's record is acknowledged.

faust's ``await topic.send(...)`` returns once the message is queued in aiokafka's producer,
with a future that the broker's answer settles later (``Topic.publish_message``). A delivery
that fails there (a non-retriable error such as an ACL's ``TopicAuthorizationFailedError``,
or a retriable one once aiokafka's ``request_timeout_ms`` has run out) is only logged by
faust, and faust's flush before an offset commit does not look at it: the record's offset
would be committed without its outputs (docs/reliability.md). So :func:`send_all` queues
every message of a record (or a group), then awaits all their deliveries together, one
producer round trip for the lot, before it returns, and only then does the agent
acknowledge the record.

A send that fails because of the broker or the network (:func:`hub.transport.retriable`: a
connection lost, no leader yet, the producer's buffer full, a timeout), when it is queued or
when it is delivered, is sent again, with backoff, until it goes through or the agent is
cancelled (a rebalance or a stop: the record stays unacknowledged and is read again). It is
never turned into a quarantine: the record is not at fault, and ingest has already stored
the record's seen-events row, so a record quarantined and acknowledged then would have its
events refused as duplicates when the agency sends them again. Any other error (a message
the broker can never take, an ACL that denies the topic) is raised for the agent to handle
as the record's: ingest then forgets the record's stored events before it quarantines the
record (``IngestAgent.refuse``), so that a redrive is accepted.

A message sent again goes after the messages of its batch that were delivered: a consumer
sees it later than its neighbours, as it would after a redelivery, which every consumer of
the hub absorbs (deterministic ids, idempotent state).

A table's changelog records are queued by faust itself (``Table.send_changelog``, faust's
``send_soon``) when the agent stores a row, and their deliveries are settled as the outputs'
are: :func:`send_all` takes them as ``queued`` (:class:`Queued`: the delivery, and how to send
the same record again) and waits for them with the outputs (:func:`delivered`: them alone), so
that a record is acknowledged only once its state is on the broker too
(``agents.tables.changelog_sends``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from hub import metrics
from hub.transport import retriable

log = structlog.get_logger("agents.sending")

T = TypeVar("T")
Delivery = Awaitable[Any] | None
"""What sending a message returns: its delivery (the broker's answer), or None when the send
itself waited for the broker."""


@dataclass(frozen=True, slots=True)
class Queued:
    """A message queued already (a table's changelog record): its delivery, and how to send
    the same message again should that delivery fail for a while."""

    delivery: Delivery
    again: Callable[[], Awaitable[Delivery]]


#: The first wait before a failed send is tried again; it doubles up to :data:`RETRY_MAX_S`.
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0


class _Backoff:
    """The waits of one :func:`send_all` before a failed send is tried again."""

    def __init__(self, agent: str, sleep: Callable[[float], Awaitable[Any]]) -> None:
        self.agent = agent
        self.sleep = sleep
        self.delay = RETRY_FIRST_S

    async def wait(self, exc: BaseException, stage: str) -> None:
        """Wait before a send that failed with the retriable ``exc`` is tried again."""
        metrics.count_send_retry(self.agent)
        log.warning(
            "send_retried",
            agent=self.agent,
            error=type(exc).__name__,
            stage=stage,
            retry_in_s=self.delay,
        )
        await self.sleep(self.delay)
        self.delay = min(self.delay * 2, RETRY_MAX_S)


async def send_all(
    messages: Iterable[T],
    send: Callable[[T], Awaitable[Delivery]],
    *,
    agent: str,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    queued: Iterable[Queued] = (),
) -> None:
    """Send each of ``messages`` in order and return once the broker has every one, and every
    delivery of ``queued``, sending again one the broker failed until it is delivered; raise
    an error the broker will keep giving (the message's own, or an ACL's)."""
    backoff = _Backoff(agent, sleep)
    sends: list[Callable[[], Awaitable[Delivery]]] = [_bound(send, m) for m in messages]
    deliveries = [await _queued(again, backoff) for again in sends]
    for one in queued:
        sends.append(one.again)
        deliveries.append(one.delivery)
    await _settled(sends, deliveries, backoff)


async def delivered(
    queued: Iterable[Queued],
    *,
    agent: str,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> None:
    """Return once the broker has every delivery of ``queued``, as :func:`send_all` does."""
    sends = list(queued)
    await _settled(
        [one.again for one in sends], [one.delivery for one in sends], _Backoff(agent, sleep)
    )


async def _settled(
    sends: list[Callable[[], Awaitable[Delivery]]], deliveries: list[Delivery], backoff: _Backoff
) -> None:
    """Wait for ``deliveries``, sending again (by its ``sends``) each that failed for a while
    until the broker has it."""
    pending = await _undelivered(sends, deliveries, backoff)
    while pending:
        deliveries = [await _queued(again, backoff) for again in pending]
        pending = await _undelivered(pending, deliveries, backoff)


def _bound(
    send: Callable[[T], Awaitable[Delivery]], message: T
) -> Callable[[], Awaitable[Delivery]]:
    """Sending ``message`` (again)."""
    return lambda: send(message)


async def _queued(send: Callable[[], Awaitable[Delivery]], backoff: _Backoff) -> Delivery:
    """A message queued in the producer by ``send`` (tried again while that fails); its
    delivery."""
    while True:
        try:
            return await send()
        except Exception as exc:
            if not retriable(exc):
                raise
            await backoff.wait(exc, "queue")


async def _undelivered(
    messages: list[Callable[[], Awaitable[Delivery]]], deliveries: list[Delivery], backoff: _Backoff
) -> list[Callable[[], Awaitable[Delivery]]]:
    """The sends whose delivery failed for a while (to send again, after a backoff), once
    every delivery is settled. ``asyncio.wait``, not ``gather``: a cancelled agent leaves the
    producer's futures alone."""
    waiting = {
        asyncio.ensure_future(delivery): message
        for message, delivery in zip(messages, deliveries, strict=True)
        if delivery is not None
    }
    if not waiting:
        return []
    await asyncio.wait(waiting)
    failed = [
        (message, error)
        for future, message in waiting.items()
        if (error := _failure(future)) is not None
    ]
    for _, error in failed:  # an error the broker will keep giving is raised, none sent again
        if not retriable(error):
            raise error
    if failed:
        await backoff.wait(failed[0][1], "delivery")
    return [message for message, _ in failed]


def _failure(future: asyncio.Future[Any]) -> BaseException | None:
    """Why a settled delivery failed; None when it was delivered."""
    if future.cancelled():
        return TimeoutError("delivery cancelled")  # not known delivered: send again
    return future.exception()
