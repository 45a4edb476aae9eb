"""Which partition a keyed record goes to: Kafka's default partitioner, computed by the writer.

A record of the hub's internal topics is authenticated for the partition it is written to
(``hub.crypto.record``), so its writer picks the partition itself rather than leaving it to
the producer. This is the partitioner every Kafka client uses by default (murmur2 of the key,
positive, modulo the partition count), so keyed records land where they always did.
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2

#: Keys remembered: aiokafka's murmur2 is pure Python (about 11 µs for a linkage token), and the
#: same subjects and partnerships come back again and again.
CACHED_KEYS = 65_536


@lru_cache(maxsize=CACHED_KEYS)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition of ``key`` in a topic of ``partitions`` partitions."""
    if partitions < 1:
        raise ValueError("a topic has at least one partition")
    return int(murmur2(key) & 0x7FFFFFFF) % partitions
