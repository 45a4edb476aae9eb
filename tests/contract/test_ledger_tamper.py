"""Tamper probes: each way of altering the ledger or its heads fails verification, naming it.

A ledger of 40 decision records with signed heads at sizes 7, 16, 33 and 40 verifies; each
probe alters one thing and must raise the right error with the right index or head.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from hub.audit import Ledger, decode_head, verify_ledger
from hub.errors import HeadChainError, HeadSignatureError, LedgerEntryError
from tests.unit.audit.builders import HUB, OTHER_HUB, START, decision_record, publish, records

SIZES = [7, 16, 33, 40]
KEYS = [HUB.verify_key]


@pytest.fixture
def ledger() -> tuple[list[bytes], list[bytes]]:
    values = records(40)
    return values, publish(values, SIZES)


def _entry_error(values: list[bytes], heads: list[bytes]) -> LedgerEntryError:
    with pytest.raises(LedgerEntryError) as info:
        verify_ledger(values, heads, KEYS)
    return info.value


def _id(value: bytes) -> str:
    return str(json.loads(value)["decision_id"])


def test_untouched_ledger_verifies(ledger: tuple[list[bytes], list[bytes]]) -> None:
    values, heads = ledger
    verified = verify_ledger(values, heads, KEYS)
    assert (verified.entries, verified.heads, verified.unsealed) == (40, 4, 0)
    assert verified.signed.size == 40


def test_one_byte_changed_names_the_entry(ledger: tuple[list[bytes], list[bytes]]) -> None:
    values, heads = ledger
    tampered = list(values)
    tampered[21] = tampered[21].replace(b'"outcome":"permit"', b'"outcome":"permiT"', 1)
    assert tampered[21] != values[21]
    error = _entry_error(tampered, heads)
    assert (error.index, error.decision_id) == (21, _id(values[21]))


def test_dropped_entry_names_its_index(ledger: tuple[list[bytes], list[bytes]]) -> None:
    values, heads = ledger
    error = _entry_error(values[:12] + values[13:], heads)
    assert (error.index, error.decision_id) == (12, _id(values[13]))


def test_inserted_forged_entry_is_named(ledger: tuple[list[bytes], list[bytes]]) -> None:
    values, heads = ledger
    forged = decision_record(999).model_dump_json().encode()
    error = _entry_error([*values[:30], forged, *values[30:]], heads)
    assert (error.index, error.decision_id) == (30, _id(forged))


def test_swapped_entries_name_the_first(ledger: tuple[list[bytes], list[bytes]]) -> None:
    values, heads = ledger
    swapped = list(values)
    swapped[5], swapped[6] = swapped[6], swapped[5]
    error = _entry_error(swapped, heads)
    assert (error.index, error.decision_id) == (5, _id(values[6]))


def test_truncated_tail_names_the_first_missing_index(
    ledger: tuple[list[bytes], list[bytes]],
) -> None:
    values, heads = ledger
    error = _entry_error(values[:35], heads)
    assert (error.index, error.decision_id) == (35, None)
    assert error.problem.startswith("missing")


def test_conflicting_repeat_of_a_decision_id_is_named(
    ledger: tuple[list[bytes], list[bytes]],
) -> None:
    values, heads = ledger
    forged = values[3].replace(b'"policy_sequence":3', b'"policy_sequence":4')
    error = _entry_error([*values, forged], heads)
    assert (error.index, error.decision_id) == (3, _id(values[3]))
    assert error.problem == "conflicting_repeat"


def test_head_signed_by_another_key_is_named(ledger: tuple[list[bytes], list[bytes]]) -> None:
    values, heads = ledger
    forged = publish(values, SIZES, key=OTHER_HUB)
    with pytest.raises(HeadSignatureError) as info:
        verify_ledger(values, [*heads[:2], forged[2], heads[3]], KEYS)
    assert (info.value.head, info.value.key_id) == (2, OTHER_HUB.key_id)


def test_head_with_altered_root_fails_its_signature(
    ledger: tuple[list[bytes], list[bytes]],
) -> None:
    values, heads = ledger
    raw = json.loads(heads[1])
    raw["root"] = "00" * 32
    with pytest.raises(HeadSignatureError) as info:
        verify_ledger(values, [heads[0], json.dumps(raw).encode(), *heads[2:]], KEYS)
    assert info.value.head == 1


def test_dropped_head_breaks_the_chain(ledger: tuple[list[bytes], list[bytes]]) -> None:
    values, heads = ledger
    with pytest.raises(HeadChainError) as info:
        verify_ledger(values, [heads[0], *heads[2:]], KEYS)
    assert info.value.head == 1


def test_reordered_heads_break_the_chain(ledger: tuple[list[bytes], list[bytes]]) -> None:
    values, heads = ledger
    with pytest.raises(HeadChainError) as info:
        verify_ledger(values, [heads[1], heads[0], *heads[2:]], KEYS)
    assert info.value.head == 0


def test_altered_leaf_hash_in_a_head_fails_the_root(
    ledger: tuple[list[bytes], list[bytes]],
) -> None:
    values, heads = ledger
    head = decode_head(heads[2], 2)
    leaves = (bytes(32), *head.leaves[1:])
    forged = replace(head, leaves=leaves)
    with pytest.raises(HeadChainError) as info:
        verify_ledger(values, [*heads[:2], forged.to_bytes(), heads[3]], KEYS)
    assert info.value.head == 2
    assert "root" in info.value.problem


def test_head_claiming_a_shrunk_ledger_is_refused(
    ledger: tuple[list[bytes], list[bytes]],
) -> None:
    values, heads = ledger
    rebuilt = Ledger()
    for value in values[:16]:
        rebuilt.append(value)
    other = records(3)
    for value in other:
        rebuilt.append(value.replace(b'"d0', b'"e0'))
    forged = rebuilt.heads_since(decode_head(heads[1], 1), HUB, START)
    with pytest.raises(HeadChainError) as info:
        verify_ledger(values, [*heads, forged[0].to_bytes()], KEYS)
    assert info.value.head == 4


def test_redelivered_records_and_repeated_heads_are_harmless(
    ledger: tuple[list[bytes], list[bytes]],
) -> None:
    values, heads = ledger
    verified = verify_ledger([*values[:10], *values[5:10], *values[10:]], [*heads, heads[1]], KEYS)
    assert (verified.entries, verified.repeats, verified.redundant_heads) == (40, 5, 1)


def test_entries_after_the_last_head_are_unsealed(
    ledger: tuple[list[bytes], list[bytes]],
) -> None:
    _, heads = ledger
    more = records(45)
    verified = verify_ledger(more, heads, KEYS)
    assert (verified.entries, verified.unsealed) == (45, 5)
