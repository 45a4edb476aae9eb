"""Sends sealed feed messages to the broker (aiokafka) and waits for every acknowledgement.

The one place in the SDK where aiokafka's ``KafkaError`` becomes
:class:`~hub.errors.TransportError` (retriable).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from hub.agency.message import FeedMessage
from hub.errors import TransportError
from hub.transport import bootstrap_servers

LINGER_MS = 5
MAX_BATCH_BYTES = 1_000_000


class FeedProducer:
    """An async context manager that publishes FeedMessages with ``acks=all``.

    ::

        async with FeedProducer(settings.broker_url) as producer:
            await producer.send(settings.feed_topic("police"), batch.messages)
    """

    def __init__(self, broker_url: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(broker_url),
            acks="all",
            linger_ms=LINGER_MS,
            max_batch_size=MAX_BATCH_BYTES,
        )

    async def __aenter__(self) -> FeedProducer:
        try:
            await self._producer.start()
        except KafkaError as exc:
            await self._producer.stop()
            raise TransportError(f"cannot reach the broker: {type(exc).__name__}") from exc
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self._producer.stop()

    async def send(self, topic: str, messages: Sequence[FeedMessage]) -> int:
        """Send ``messages`` in order and wait until the broker acknowledged all of them."""
        try:
            futures = [
                await self._producer.send(topic, m.value, key=m.key, headers=list(m.headers))
                for m in messages
            ]
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise TransportError(f"send to {topic} failed: {type(exc).__name__}") from exc
        return len(messages)
