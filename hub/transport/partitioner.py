"""Which partition Kafka's default partitioner gives a key (murmur2, as the Java client)."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner


def partition_for(key: bytes, partitions: int) -> int:
    """The partition a producer with the default partitioner sends ``key`` to."""
    every = list(range(partitions))
    return int(DefaultPartitioner()(key, every, every))
