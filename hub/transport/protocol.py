"""What the hub's own code does with Kafka outside faust's streams, as one typed protocol.

:class:`Transport` is the test seam (httpx's transport, eventsourcing's recorders): the
aiokafka implementation (:class:`hub.transport.kafka.KafkaTransport`) talks to a broker, the
in-memory one (:class:`hub.transport.memory.MemoryTransport`) keeps partitions as lists, and
one contract suite (``tests/contract/test_transport_contract.py``) runs against both.

Every error an implementation raises is a :class:`~hub.errors.TransportError` (translated in
``hub.transport.failure``): ``retriable`` says whether trying again can help;
:class:`~hub.errors.UnknownTopicError` names a topic or partition the broker does not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hub.topics import TopicSpec
from hub.transport.record import Headers, Visit, Written


class Transport(Protocol):
    """Produce, read to a known end, follow, and create topics."""

    async def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | None = None,
        partition: int | None = None,
        headers: Headers = (),
    ) -> Written:
        """Write one record and wait for the broker's acknowledgement.

        The partition is ``partition`` if given, else the default partitioner's for ``key``
        (``hub.transport.partitioner``), else the implementation's choice.
        """
        ...

    async def read(self, topic: str, partition: int, visit: Visit, *, start: int = 0) -> int:
        """Call ``visit`` on every record of one partition from ``start`` to its end as of the
        call (records written meanwhile may be visited too); return how many were visited."""
        ...

    async def follow(
        self, topic: str, visit: Visit, *, starts: dict[int, int] | None = None
    ) -> None:
        """Call ``visit`` on every record of the partitions of ``starts`` (partition ->
        first offset; every partition from its start when None), as they come, until
        cancelled."""
        ...

    async def end_offsets(self, topic: str) -> dict[int, int]:
        """Partition -> one past its last record, the true end (``hub.transport.probe``)."""
        ...

    async def partitions(self, topic: str) -> int:
        """How many partitions ``topic`` has; UnknownTopicError if it does not exist."""
        ...

    async def ensure_topics(self, specs: Sequence[TopicSpec]) -> list[str]:
        """Create every topic of ``specs`` that does not exist yet; return the names created."""
        ...

    async def close(self) -> None:
        """Release the connections (an implementation may be used again after)."""
        ...
