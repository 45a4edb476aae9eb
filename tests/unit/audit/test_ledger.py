"""The ledger's fold (de-duplication, canonical entries) and the heads its writer signs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.audit import (
    GENESIS,
    MAX_LEAVES_PER_HEAD,
    Ledger,
    canonical_json,
    decode_head,
    entry_of,
    verify_ledger,
)
from hub.audit import ledger as ledger_module
from hub.errors import LedgerEntryError
from hub.merkle import hash_leaf, root_of
from tests.unit.audit.builders import HUB, START, publish, records

VALUES = records(60)


def test_entry_is_canonical_json_whatever_the_key_order() -> None:
    raw = json.loads(VALUES[0])
    reordered = json.dumps(dict(reversed(list(raw.items())))).encode()
    assert entry_of(reordered, 0).data == entry_of(VALUES[0], 0).data == canonical_json(raw)
    assert entry_of(VALUES[0], 0).leaf_hash == hash_leaf(canonical_json(raw))


def _json_path(value: bytes) -> bytes:
    """An entry's bytes as the json module reads and writes them (the reference)."""
    return canonical_json(json.loads(value))


_ODD = [
    b'{"decision_id":"d","a":1,"a":2}',  # a repeated key: the last one stands
    b'{"decision_id":"d","s":"\\u0001\\u000b\\u001f\\n\\t\\r\\b\\f\\"\\\\ \x7f \\u2028 \xc3\xa9"}',
    b'{"decision_id":"d","\xc3\xa9":1,"z":2,"\xf0\x9f\x98\x80":3,"\xef\xbf\xbd":4,"":5}',
    b'{"decision_id":"d","n":-0,"big":123456789012345678901234567890,"m":-9223372036854775808}',
    b'{"decision_id":"d","f":1e16,"g":1e-05,"h":[{"x":0.5}],"i":-0.0}',
    b'{"decision_id":"d","nan":NaN,"inf":-Infinity}',
    b'{"decision_id":"d","s":"\\ud83d\\ude00","t":"\\u00e9"}',
    b'\xef\xbb\xbf{"decision_id":"d"}',
    b'  {"decision_id" : "d" , "l" : [ true , false , null , {} , [] ] }  ',
    json.dumps({"decision_id": "d", "x": "\u00e9"}, ensure_ascii=False).encode("utf-16"),
]


@pytest.mark.parametrize("value", _ODD)
def test_an_entry_is_the_json_modules_canonical_bytes(value: bytes) -> None:
    assert entry_of(value, 0).data == _json_path(value)


def test_every_simulated_record_is_the_json_modules_canonical_bytes() -> None:
    """orjson reads and writes the entries of a history (``entry_of``'s fast path) to the
    bytes the json module gives."""
    values = [*VALUES, *records(400)]
    assert all(entry_of(v, n).data == _json_path(v) for n, v in enumerate(values))


@pytest.mark.parametrize(
    "value",
    [
        b"not json",
        b"[1,2]",
        b'{"decision_id": 5}',
        b"{}",
        b"\xff\xfe",
        # JSON reads a lone surrogate escape, but no UTF-8 entry can hold it.
        b'{"decision_id": "d-1", "note": "\\ud800"}',
    ],
)
def test_a_record_that_is_not_a_decision_is_refused(value: bytes) -> None:
    with pytest.raises(LedgerEntryError) as info:
        Ledger().append(value)
    assert info.value.index == 0


def test_first_occurrence_is_the_leaf_and_identical_repeats_are_skipped() -> None:
    ledger = Ledger()
    first = [ledger.append(v) for v in VALUES[:5]]
    repeat = ledger.append(VALUES[2])
    assert [a.index for a in first] == [0, 1, 2, 3, 4]
    assert (repeat.index, repeat.repeat, len(ledger)) == (2, True, 5)
    assert ledger.checkpoint().root == root_of([entry_of(v, 0).leaf_hash for v in VALUES[:5]])


def test_heads_chain_and_carry_the_new_leaves() -> None:
    ledger = Ledger()
    for value in VALUES[:10]:
        ledger.append(value)
    (first,) = ledger.heads_since(None, HUB, START)
    for value in VALUES[10:25]:
        ledger.append(value)
    (second,) = ledger.heads_since(first, HUB, START + timedelta(seconds=1))
    assert first.previous == GENESIS
    assert first.consistency == ()
    assert second.previous == first.checkpoint
    assert (len(second.leaves), second.size) == (15, 25)
    assert ledger.heads_since(second, HUB, START) == []
    assert decode_head(second.to_bytes(), 0) == second


def test_a_long_gap_is_split_into_heads_of_bounded_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_module, "MAX_LEAVES_PER_HEAD", 8)
    ledger = Ledger()
    for value in VALUES[:30]:
        ledger.append(value)
    heads = ledger.heads_since(None, HUB, START)
    assert [h.size for h in heads] == [8, 16, 24, 30]
    assert verify_ledger(VALUES[:30], [h.to_bytes() for h in heads], [HUB.verify_key]).heads == 4
    assert MAX_LEAVES_PER_HEAD >= 8


def test_writer_refuses_a_published_head_its_ledger_does_not_extend() -> None:
    published = Ledger()
    for value in VALUES[:5]:
        published.append(value)
    (head,) = published.heads_since(None, HUB, START)
    other = Ledger()
    for value in VALUES[1:8]:
        other.append(value)
    with pytest.raises(LedgerEntryError):
        other.heads_since(head, HUB, START)


def test_a_malformed_head_is_named_as_forged_at_its_position() -> None:
    verified = verify_ledger(VALUES[:3], [b"{}"], [HUB.verify_key])
    (forged,) = verified.forged_heads
    assert (forged.head, forged.key_id, forged.error) == (0, None, "HeadChainError")
    assert not verified.ok
    assert (verified.signed.size, verified.unsealed) == (0, 3)


@settings(max_examples=60, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=6),
    victim=st.integers(min_value=0, max_value=59),
    flip=st.integers(min_value=0, max_value=7),
)
def test_any_changed_digit_in_a_signed_entry_is_named(
    cuts: list[int], victim: int, flip: int
) -> None:
    sizes = sorted(set(cuts))
    heads = publish(VALUES, sizes)
    tampered = list(VALUES)
    value = bytearray(tampered[victim])
    position = value.index(b'"inputs_digest":"') + len('"inputs_digest":"')
    value[position] = ord("0123456789abcdef"[(int(chr(value[position]), 16) + 1 + flip) % 16])
    tampered[victim] = bytes(value)
    if victim >= sizes[-1]:
        assert verify_ledger(tampered[: sizes[-1]], heads, [HUB.verify_key]).unsealed == 0
        return
    with pytest.raises(LedgerEntryError) as info:
        verify_ledger(tampered, heads, [HUB.verify_key])
    assert info.value.index == victim
