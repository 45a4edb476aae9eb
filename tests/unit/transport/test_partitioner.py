"""partition_for gives what aiokafka's default partitioner gives (Kafka's Java client's
murmur2), for every key length."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.transport.partitioner import partition_for


@pytest.mark.parametrize("length", range(1, 40))
def test_partition_is_the_default_partitioners_for_every_tail(length: int) -> None:
    data = bytes((i * 37 + 201) & 0xFF for i in range(length))
    every = list(range(7))
    assert partition_for(data, 7) == DefaultPartitioner()(data, every, every)


@settings(max_examples=300)
@given(key=st.binary(min_size=1, max_size=120), partitions=st.integers(1, 64))
def test_partition_is_the_default_partitioners(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, every, every)


def test_known_kafka_values() -> None:
    """Kafka's own murmur2 test values (Java ints), through the partition they give."""
    for key, java in [(b"21", -973932308), (b"foobar", -790332482), (b"abc", 479470107)]:
        assert partition_for(key, 1000) == (java & 0x7FFFFFFF) % 1000


def test_no_partitions_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        partition_for(b"key", 0)
