"""Reading a topic the hub wrote, partition by partition, for tools and workers.

:func:`read_partition` reads one partition from its start to its end as of the call;
:func:`follow_partition` reads partition 0 from its start, forever. Both go through the
aiokafka transport (:class:`hub.transport.kafka.KafkaTransport`), so their records are the
hub's :class:`~hub.transport.record.Record` and their errors the hub's. A topic that does
not exist yet reads as empty (a tool run before the first record) or is waited for (a
follower started before ``hub topics create``).

No record stops a reader: ``visit`` is expected to refuse what it cannot use itself, and any
error it lets escape is logged and counted (``hub.refusal``) and the reader moves on.
"""

from __future__ import annotations

import asyncio

import structlog

from hub.errors import UnknownTopicError
from hub.transport.endpoint import KafkaEndpoint
from hub.transport.kafka import KafkaTransport
from hub.transport.record import Visit

log = structlog.get_logger("hub.transport.topiclog")
#: How long a follower waits before looking again for a topic that does not exist yet.
TOPIC_WAIT_S = 1.0


async def read_partition(endpoint: KafkaEndpoint, topic: str, visit: Visit, number: int = 0) -> int:
    """Call ``visit`` on every record of one partition of ``topic``; return how many there were."""
    async with KafkaTransport(endpoint) as transport:
        try:
            return await transport.read(topic, number, visit)
        except UnknownTopicError:
            return 0


async def follow_partition(endpoint: KafkaEndpoint, topic: str, visit: Visit) -> None:
    """Call ``visit`` on every record of partition 0 of ``topic``, from the start, forever.

    Every caller reads the whole topic itself (no consumer group), which is what a worker
    needs for data every worker must hold, such as the agreements.
    """
    async with KafkaTransport(endpoint) as transport:
        while True:
            try:
                await transport.follow(topic, visit, starts={0: 0})
            except UnknownTopicError:
                log.info("topic_awaited", topic=topic)
                await asyncio.sleep(TOPIC_WAIT_S)
