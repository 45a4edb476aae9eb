"""Packed table changelog records: round trip, splitting, reserved keys, malformed packs.

Tamper probes (each must fail with MalformedPackError, never another exception): any
truncation, a wrong magic, a count above or below the rows carried, bytes after the last row,
an empty or reserved inner row key, and arbitrary bytes.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.crypto.packedrows import (
    MAGIC,
    MAX_KEY_SIZE,
    PACK_BUDGET,
    PACK_PREFIX,
    encode_rows,
    is_pack_key,
    iter_rows,
    pack_key,
    pack_rows,
    parse_rows,
)
from hub.errors import MalformedPackError, MalformedRecordError
from hub.retention import MAX_MESSAGE_BYTES

ROW_KEYS = st.binary(min_size=1, max_size=40).filter(lambda k: k[:1] != b"\x00")
ROWS = st.lists(st.tuples(ROW_KEYS, st.binary(max_size=120)), min_size=1, max_size=40)
ROW_KEY_EXAMPLES = [
    b"lt1:0123456789abcdef:" + b"a" * 52,  # a subject token
    b"__policy__:3",
    b"__area__:E01016541",
    b'[2,"2026-12-01","reading","E01016541","police.arrest","police","b"]',  # an SNA row
    b"vru.feed.police:0:17",  # a seen-events row (a feed position)
]


@settings(max_examples=80)
@given(ROWS)
def test_round_trip_keeps_every_row_in_order(rows: list[tuple[bytes, bytes]]) -> None:
    assert parse_rows(encode_rows(rows)) == rows


@settings(max_examples=60)
@given(ROWS, st.integers(min_value=0, max_value=400))
def test_packs_keep_the_rows_in_order_and_within_the_budget(
    rows: list[tuple[bytes, bytes]], budget: int
) -> None:
    packs = pack_rows(rows, budget)
    assert [row for pack in packs for row in pack] == rows
    for pack in packs:
        assert len(pack) == 1 or len(encode_rows(pack)) <= budget


def test_a_record_of_rows_makes_one_pack_under_the_budget() -> None:
    rows = [(f"row-{i}".encode(), b"v" * 200) for i in range(1000)]
    assert len(pack_rows(rows)) == 1
    big = [(f"row-{i}".encode(), b"v" * 100_000) for i in range(12)]
    assert [len(p) for p in pack_rows(big)] == [5, 5, 2]
    assert PACK_BUDGET == MAX_MESSAGE_BYTES // 2  # as the correlation outbox's record budget


@pytest.mark.parametrize("key", ROW_KEY_EXAMPLES)
def test_no_row_key_the_hub_writes_is_a_pack_key(key: bytes) -> None:
    assert not is_pack_key(key)
    assert list(iter_rows(key, b"v")) == [(key, b"v")]


def test_pack_keys_are_reserved_and_distinct_per_record_chunk_and_rows() -> None:
    rows = ([b"a", b"b"], [b"a"], [b"ab"], [b"b", b"a"])
    keys = {
        pack_key(origin, chunk, held)
        for origin in (0, 1, 2**40)
        for chunk in (0, 1)
        for held in rows
    }
    assert len(keys) == 3 * 2 * len(rows)
    assert all(is_pack_key(k) and k.startswith(PACK_PREFIX) for k in keys)
    assert pack_key(5, 0, [b"a", b"b"]) == pack_key(5, 0, iter([b"a", b"b"]))
    assert not is_pack_key(None)


def _compacted(log: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """What a compacted changelog keeps: the newest record of each key, in log order."""
    newest = {key: at for at, (key, _) in enumerate(log)}
    return [record for at, record in enumerate(log) if newest[record[0]] == at]


def _written(origin: int, rows: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The changelog records a worker writes for ``rows`` of the record at ``origin``."""
    return [
        (pack_key(origin, chunk, (k for k, _ in pack)), encode_rows(pack))
        for chunk, pack in enumerate(pack_rows(rows))
    ]


def test_a_redelivery_that_writes_fewer_rows_never_displaces_a_pack_under_compaction() -> None:
    """A record's first run writes two subjects and an area row; its redelivery (a crash
    before the commit) rewrites the subjects only (the area row already holds the event):
    after compaction every row is still in the changelog."""
    first = [(b"S1", b"s1@500"), (b"__area__:L", b"area@500"), (b"S2", b"s2@500")]
    again = [(b"S1", b"s1@500"), (b"S2", b"s2@500")]
    kept = _compacted([*_written(500, first), *_written(500, again)])
    rows = {key for record in kept for key, _ in iter_rows(*record)}
    assert rows == {b"S1", b"S2", b"__area__:L"}
    same = _compacted([*_written(500, first), *_written(500, first)])
    assert len(same) == 1  # the same rows again: one pack kept, the newest


@pytest.mark.parametrize("key", [b"\x00row", b"", b"k" * (MAX_KEY_SIZE + 1)])
def test_a_row_key_a_reader_would_misread_is_never_packed(key: bytes) -> None:
    with pytest.raises(ValueError, match="row key"):
        pack_rows([(b"fine", b"v"), (key, b"v")])


def test_iter_rows_expands_a_pack() -> None:
    rows = [(b"a", b"1"), (b"b", b"2")]
    assert list(iter_rows(pack_key(7, 0, [b"a", b"b"]), encode_rows(rows))) == rows


GOOD = encode_rows([(b"a", b"1"), (b"bb", b"22")])
_COUNT = len(MAGIC)


def _with_count(n: int) -> bytes:
    return GOOD[:_COUNT] + struct.pack(">I", n) + GOOD[_COUNT + 4 :]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (None, "not bytes"),
        (b"", "magic"),
        (b"VRT1" + GOOD[4:], "magic"),
        (MAGIC + b"\x00", "truncated count"),
        (_with_count(0), "row count"),
        (_with_count(3), "row count"),  # more rows claimed than the bytes could hold
        (_with_count(2) + b"\x00" * 9, "bytes after the last row"),
        (MAGIC + struct.pack(">II", 1, 1) + b"k\x00\x00\x00", "truncated value length"),
        (_with_count(2**31), "row count"),
        (_with_count(1), "bytes after the last row"),
        (GOOD + b"\x00", "bytes after the last row"),
        (GOOD[:-1], "truncated value"),
        (encode_rows([(b"\x00x", b"1")]), "row key"),
        (MAGIC + struct.pack(">II", 1, 0) + struct.pack(">I", 0), "row key"),
        (MAGIC + struct.pack(">II", 1, MAX_KEY_SIZE + 1) + b"k" * 5000, "truncated key"),
    ],
)
def test_malformed_packs_are_refused_with_the_problem(data: object, problem: str) -> None:
    with pytest.raises(MalformedPackError) as caught:
        parse_rows(data)
    assert caught.value.problem == problem
    assert isinstance(caught.value, MalformedRecordError)
    assert caught.value.reason == "malformed_record"


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_malformed_pack(data: bytes) -> None:
    for candidate in (data, MAGIC + data):
        try:
            rows = parse_rows(candidate)
        except MalformedPackError as exc:
            at = exc.at
        else:
            assert encode_rows(rows) == candidate
            continue
        assert 0 <= at <= len(candidate)


@settings(max_examples=200)
@given(ROWS, st.integers(min_value=0, max_value=10_000), st.integers(0, 255))
def test_a_flipped_or_cut_pack_parses_only_to_a_whole_pack(
    rows: list[tuple[bytes, bytes]], where: int, flip: int
) -> None:
    data = encode_rows(rows)
    at = where % len(data)
    for candidate in (data[:at], data[:at] + bytes([data[at] ^ (flip or 1)]) + data[at + 1 :]):
        try:
            parsed = parse_rows(candidate)
        except MalformedPackError:
            continue
        assert encode_rows(parsed) == candidate
