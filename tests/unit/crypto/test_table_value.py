"""Table values carry a MAC bound to their table and row, and a version (tamper probes)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.crypto import HmacKey
from hub.crypto.tablevalue import (
    Row,
    Sealing,
    TableValue,
    seal_value,
    unwrapped,
    value_of,
    verify_value,
)
from hub.errors import BadSignatureError, MalformedRecordError, UnknownKeyError

KEY = HmacKey(b"\x51" * 32)
OTHER = HmacKey(b"\x52" * 32)


def keys(key_id: str) -> HmacKey | None:
    return KEY if key_id == KEY.key_id else None


ROW = Row("subjects", 1, b"lt1:row")
STORED = seal_value(KEY, ROW, 41, b"state bytes")


def test_a_value_round_trips_with_its_version() -> None:
    found = verify_value(keys, ROW, STORED)
    assert (found.version, found.value) == (41, b"state bytes")
    assert value_of(STORED) == found


def test_a_value_moved_to_another_row_partition_or_table_does_not_verify() -> None:
    for elsewhere in (
        Row("subjects", 1, b"lt1:other"),
        Row("subjects", 0, b"lt1:row"),
        Row("seen-events", 1, b"lt1:row"),
    ):
        with pytest.raises(BadSignatureError):
            verify_value(keys, elsewhere, STORED)


def test_every_flipped_byte_is_refused() -> None:
    for position in range(len(STORED)):
        tampered = bytearray(STORED)
        tampered[position] ^= 0x04
        with pytest.raises((BadSignatureError, MalformedRecordError, UnknownKeyError)):
            verify_value(keys, ROW, bytes(tampered))


def test_deletions_missing_keys_unknown_keys_and_garbage_are_refused() -> None:
    with pytest.raises(MalformedRecordError):
        verify_value(keys, ROW, None)  # a tombstone: the hub never deletes
    with pytest.raises(MalformedRecordError):
        verify_value(keys, None, STORED)
    with pytest.raises(UnknownKeyError):
        verify_value(keys, ROW, seal_value(OTHER, ROW, 1, b"x"))
    for garbage in (b"", b"VRT1", b"x" * 60, STORED[:-1][:44]):
        with pytest.raises(MalformedRecordError):
            verify_value(keys, ROW, garbage)
        with pytest.raises(MalformedRecordError):
            unwrapped(garbage)


@given(
    st.text(min_size=1, max_size=40),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.binary(max_size=80),
    st.integers(min_value=0, max_value=2**64 - 1),
    st.binary(max_size=300),
)
def test_sealing_many_rows_of_a_partition_gives_seal_values_bytes(
    table: str, partition: int, key: bytes, version: int, value: bytes
) -> None:
    sealed = Sealing(KEY, table, partition).seal(key, version, value)
    row = Row(table, partition, key)
    assert sealed == seal_value(KEY, row, version, value)
    assert verify_value(keys, row, sealed) == TableValue(version, value)
    assert unwrapped(sealed) == (version, value)
    assert value_of(sealed) == TableValue(version, value)


@given(
    st.lists(
        st.tuples(
            st.binary(max_size=40),
            st.sampled_from([0, 1, 7, 2**64 - 1]),
            st.binary(max_size=60),
        ),
        max_size=12,
    )
)
def test_one_sealing_gives_seal_values_bytes_as_the_version_changes_between_rows(
    rows: list[tuple[bytes, int, bytes]],
) -> None:
    """A record's rows sealed with one :class:`Sealing`, their versions repeating and
    changing (a row held above the record's offset) in any order: each as sealed alone."""
    sealing = Sealing(KEY, "subjects", 3)
    for key, version, value in rows:
        sealed = sealing.seal(key, version, value)
        assert sealed == seal_value(KEY, Row("subjects", 3, key), version, value)


def test_a_version_no_row_can_have_is_refused_by_a_sealing_too() -> None:
    """A version past the u64 field is refused, first or after another (never sealed with
    the head of the version before)."""
    sealing = Sealing(KEY, "subjects", 0)
    with pytest.raises(struct.error):
        sealing.seal(b"k", -1, b"v")
    sealing.seal(b"k", 5, b"v")
    with pytest.raises(struct.error):
        sealing.seal(b"k", 2**64, b"v")
