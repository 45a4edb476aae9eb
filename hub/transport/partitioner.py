"""Which partition Kafka's default partitioner gives a key (murmur2, as the Java client).

Writers of the hub's authenticated records pick the partition themselves with it (the record
is bound to where it is written, ``hub.crypto.record``), so keyed records land where a producer
with the default partitioner would have put them.
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2

#: Keys remembered: aiokafka's murmur2 is pure Python (about 11 µs for a linkage token), and the
#: same subjects and partnerships come back again and again.
CACHED_KEYS = 65_536


@lru_cache(maxsize=CACHED_KEYS)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition a producer with the default partitioner sends ``key`` to: aiokafka's
    ``DefaultPartitioner`` (Kafka's Java client's), its murmur2 called directly."""
    if partitions < 1:
        raise ValueError("a topic has at least one partition")
    hashed: int = murmur2(key)  # aiokafka's is untyped
    return (hashed & 0x7FFFFFFF) % partitions
