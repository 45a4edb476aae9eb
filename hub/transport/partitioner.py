"""Which partition Kafka's default partitioner gives a key (murmur2, as the Java client).

Writers of the hub's authenticated records pick the partition themselves with it (the record
is bound to where it is written, ``hub.crypto.record``), so keyed records land where a producer
with the default partitioner would have put them.
"""

from __future__ import annotations

import struct
from functools import lru_cache

#: Keys remembered: the same subjects and partnerships come back again and again.
CACHED_KEYS = 65_536

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


@lru_cache(maxsize=CACHED_KEYS)
def partition_for(key: bytes, partitions: int) -> int:
    """The partition a producer with the default partitioner sends ``key`` to."""
    if partitions < 1:
        raise ValueError("a topic has at least one partition")
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of ``data`` as an unsigned 32-bit value: the Java client's
    ``Utils.murmur2`` (and aiokafka's ``partitioner.murmur2``, which the unit tests compare
    it with), its 4-byte words read at once rather than byte by byte."""
    length = len(data)
    whole = length & ~3
    h = _SEED ^ length
    for word in struct.unpack_from(f"<{length >> 2}I", data):
        k = (word * _M) & _MASK
        h = ((h * _M) ^ ((k ^ (k >> 24)) * _M)) & _MASK  # masking once: it commutes with ^
    tail = length & 3
    if tail:
        if tail == 3:  # noqa: PLR2004  # the last three bytes, as the Java switch falls through
            h ^= data[whole + 2] << 16
        if tail >= 2:  # noqa: PLR2004
            h ^= data[whole + 1] << 8
        h = ((h ^ data[whole]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)
