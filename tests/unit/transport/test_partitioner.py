"""partition_for gives what aiokafka's default partitioner gives (Kafka's Java client's
murmur2), for every key length, whichever library computes it."""

from __future__ import annotations

import sys

import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.transport import partitioner
from hub.transport.partitioner import COMPILED, partition_for, python_partition

#: Kafka's own murmur2 test values (Java ints).
KAFKA = [(b"21", -973932308), (b"foobar", -790332482), (b"abc", 479470107)]


def _default(key: bytes, partitions: int) -> int:
    every = list(range(partitions))
    found: int = DefaultPartitioner()(key, every, every)
    return found


@pytest.mark.parametrize("length", range(1, 40))
def test_partition_is_the_default_partitioners_for_every_tail(length: int) -> None:
    data = bytes((i * 37 + 201) & 0xFF for i in range(length))
    assert partition_for(data, 7) == _default(data, 7)
    assert python_partition(data, 7) == _default(data, 7)


@settings(max_examples=300)
@given(key=st.binary(min_size=1, max_size=120), partitions=st.integers(1, 64))
def test_partition_is_the_default_partitioners(key: bytes, partitions: int) -> None:
    assert partition_for(key, partitions) == _default(key, partitions)


@settings(max_examples=1000)
@given(key=st.binary(min_size=0, max_size=200), partitions=st.integers(1, 2**31 - 1))
def test_both_libraries_give_the_same_partition(key: bytes, partitions: int) -> None:
    if COMPILED is None:
        pytest.skip("confluent-kafka's murmur2 is not installed")
    assert COMPILED(key, partitions) == python_partition(key, partitions)


def test_known_kafka_values() -> None:
    for key, java in KAFKA:
        expected = (java & 0x7FFFFFFF) % 1000
        assert partition_for(key, 1000) == expected
        assert python_partition(key, 1000) == expected
        assert COMPILED is None or COMPILED(key, 1000) == expected


def test_no_partitions_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        partition_for(b"key", 0)


def test_without_confluent_kafka_aiokafkas_murmur2_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "confluent_kafka", None)  # import raises ImportError
    assert partitioner._compiled() is None
