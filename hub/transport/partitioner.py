"""Which partition Kafka's default partitioner gives a key (murmur2, as the Java client).

Writers of the hub's authenticated records pick the partition themselves with it (the record
is bound to where it is written, ``hub.crypto.record``), so keyed records land where a producer
with the default partitioner would have put them.

Two libraries compute it, with the same result for every key (``tests/unit/transport``):
librdkafka's murmur2 partitioner through ``confluent_kafka.murmur2`` (C, about 0.1 µs for a
linkage token; confluent-kafka 2.16 and later, a runtime dependency), else aiokafka's
``murmur2`` (pure Python, about 11 µs), for an install whose confluent-kafka lacks it.
Every key of a new subject pays it once (a quarter of ``bench_domain``'s events); the cache
in front holds the keys met since (bounded: keys the hub writes records under, an accepted
event's made from its checked linkage token or LSOA).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from aiokafka.partitioner import murmur2

#: Keys remembered: the same subjects and partnerships come back again and again.
CACHED_KEYS = 65_536


def python_partition(key: bytes, partitions: int) -> int:
    """aiokafka's ``DefaultPartitioner`` (Kafka's Java client's), its murmur2 called directly."""
    hashed: int = murmur2(key)  # aiokafka's is untyped
    return (hashed & 0x7FFFFFFF) % partitions


def _compiled() -> Callable[[bytes, int], int] | None:
    """confluent-kafka's ``murmur2(key, partitions)`` (librdkafka's, Java-compatible), or
    None when the package, or that function of it, is not installed."""
    try:
        from confluent_kafka import murmur2 as compiled  # noqa: PLC0415  # may lack it
    except ImportError:
        return None
    found: Callable[[bytes, int], int] = compiled
    return found


COMPILED = _compiled()
_partition = python_partition if COMPILED is None else COMPILED


@lru_cache(maxsize=CACHED_KEYS)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition a producer with the default partitioner sends ``key`` to (Kafka's Java
    client's murmur2, ``(murmur2(key) & 0x7FFFFFFF) % partitions``)."""
    if partitions < 1:
        raise ValueError("a topic has at least one partition")
    return _partition(key, partitions)
