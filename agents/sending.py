"""An agent's outputs sent through a broker that may fail for a while.

A send that fails because of the broker or the network (:func:`hub.transport.retriable`: a
connection lost, no leader yet, the producer's buffer full, a timeout) is tried again, with
backoff, until it goes through or the agent is cancelled (a rebalance or a stop: the record
stays unacknowledged and is read again). It is never turned into a quarantine: the record is
not at fault, and ingest has already stored the record's seen-events row, so a record
quarantined and acknowledged then would have its events refused as duplicates when the
agency sends them again. Any other error (a message the broker can never take) is raised for
the agent to handle as the record's: ingest then forgets the record's stored events before it
quarantines the record (``IngestAgent.refuse``), so that a redrive is accepted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import structlog

from hub import metrics
from hub.transport import retriable

log = structlog.get_logger("agents.sending")

T = TypeVar("T")
#: The first wait before a failed send is tried again; it doubles up to :data:`RETRY_MAX_S`.
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0


async def send_all(
    messages: Iterable[T],
    send: Callable[[T], Awaitable[Any]],
    *,
    agent: str,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> None:
    """Send each of ``messages`` in order, retrying one the broker failed until it is sent."""
    delay = RETRY_FIRST_S
    for message in messages:
        while True:
            try:
                await send(message)
                break
            except Exception as exc:
                if not retriable(exc):
                    raise
                metrics.count_send_retry(agent)
                log.warning("send_retried", agent=agent, error=type(exc).__name__, retry_in_s=delay)
                await sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
