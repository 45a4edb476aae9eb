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


@pytest.mark.parametrize("value", [b"not json", b"[1,2]", b'{"decision_id": 5}', b"{}"])
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
