"""Sends sealed feed messages to the broker and waits for every acknowledgement.

The client comes from the transport seam (``hub.transport``), with the agency's TLS or SASL
settings; its errors become :class:`~hub.errors.TransportError` there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType

from hub.agency.message import FeedMessage
from hub.transport import KafkaEndpoint, new_producer, translated

LINGER_MS = 5
MAX_BATCH_BYTES = 1_000_000


class FeedProducer:
    """An async context manager that publishes FeedMessages with ``acks=all``.

    ::

        async with FeedProducer(kafka_endpoint(settings)) as producer:
            await producer.send(settings.feed_topic("police"), batch.messages)
    """

    def __init__(self, endpoint: KafkaEndpoint) -> None:
        self._endpoint = endpoint
        self._producer = new_producer(
            endpoint, acks="all", linger_ms=LINGER_MS, max_batch_size=MAX_BATCH_BYTES
        )

    async def __aenter__(self) -> FeedProducer:
        try:
            async with translated(self._endpoint, "reach the broker"):
                await self._producer.start()
        except BaseException:
            await self._producer.stop()
            raise
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self._producer.stop()

    async def send(self, topic: str, messages: Sequence[FeedMessage]) -> int:
        """Send ``messages`` in order, wait for every ack; returns the events they carry."""
        async with translated(self._endpoint, f"send to {topic}"):
            futures = [
                await self._producer.send(
                    topic, m.value, key=m.key, headers=list(m.headers), partition=m.partition
                )
                for m in messages
            ]
            await asyncio.gather(*futures)
        return sum(m.events for m in messages)
