"""partition_for and murmur2 give what aiokafka's default partitioner gives (Kafka's Java
client's murmur2), for every key length."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as reference
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.transport.partitioner import murmur2, partition_for


@pytest.mark.parametrize("length", range(80))
def test_murmur2_is_kafkas_for_every_tail(length: int) -> None:
    data = bytes((i * 37 + 201) & 0xFF for i in range(length))
    assert murmur2(data) == reference(data)


@settings(max_examples=500)
@given(data=st.binary(max_size=300))
def test_murmur2_is_kafkas(data: bytes) -> None:
    assert murmur2(data) == reference(data)


@settings(max_examples=300)
@given(key=st.binary(min_size=1, max_size=120), partitions=st.integers(1, 64))
def test_partition_is_the_default_partitioners(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, every, every)


def test_known_kafka_values() -> None:
    """Values of Kafka's own murmur2 tests (Java ints, as unsigned 32-bit)."""
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == -985981536 & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-longer-string") == -1486304829 & 0xFFFFFFFF
    assert murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971 & 0xFFFFFFFF
    assert murmur2(b"abc") == 479470107


def test_no_partitions_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        partition_for(b"key", 0)
