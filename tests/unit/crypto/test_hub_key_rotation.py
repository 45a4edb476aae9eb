"""Hub signing key rotation: tree heads chain across the change only when it is attested."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from hub.audit import Ledger, TreeHead, decode_head, verify_ledger
from hub.audit.head import Rotation, rotation_head
from hub.crypto import SigningKey
from hub.errors import HeadChainError, HeadKeyError
from tests.unit.audit.builders import HUB, OTHER_HUB, START, records

NEW_HUB = SigningKey.from_raw(bytes(range(2, 34)))
OVERLAP = timedelta(days=7)


def _chain(
    values: list[bytes], plan: list[tuple[int, SigningKey | None]]
) -> tuple[list[bytes], Ledger]:
    """Heads over ``values``: each step publishes up to a size with a key, or rotates (None)."""
    ledger, heads, last, fed = Ledger(), [], None, 0
    key = HUB
    for hour, (size, signer) in enumerate(plan):
        at = START + timedelta(hours=hour)
        if signer is None:
            head = rotation_head(last, key, at, Rotation(NEW_HUB.verify_key, at + OVERLAP))
            heads.append(head.to_bytes())
            last, key = head, NEW_HUB
            continue
        while len(ledger) < size:
            ledger.append(values[fed])
            fed += 1
        new: list[TreeHead] = ledger.heads_since(last, signer, at)
        heads += [h.to_bytes() for h in new]
        last = new[-1] if new else last
    return heads, ledger


def test_heads_chain_across_an_attested_rotation() -> None:
    values = records(30)
    heads, _ = _chain(values, [(10, HUB), (10, None), (20, NEW_HUB), (30, NEW_HUB)])
    verified = verify_ledger(values, heads, [HUB.verify_key])
    assert verified.rotations == 1
    assert verified.hub_keys == (HUB.key_id, NEW_HUB.key_id)
    assert verified.signed.size == 30
    assert decode_head(heads[1], 1).rotation is not None


def test_new_key_without_the_rotation_head_is_refused_even_if_trusted() -> None:
    values = records(30)
    heads, _ = _chain(values, [(10, HUB), (10, None), (20, NEW_HUB)])
    without_rotation = [heads[0], heads[2]]
    verified = verify_ledger(values, without_rotation, [HUB.verify_key, NEW_HUB.verify_key])
    (forged,) = verified.forged_heads  # skipped and named, as the head writer skips it
    assert (forged.head, forged.key_id, forged.error) == (1, NEW_HUB.key_id, "HeadKeyError")
    assert "not attested" in forged.problem
    assert not verified.ok
    assert verified.signed.size == 10


def test_old_key_keeps_signing_during_the_overlap_then_is_refused() -> None:
    values = records(30)
    inside, _ = _chain(values, [(10, HUB), (10, None), (20, HUB), (30, NEW_HUB)])
    assert verify_ledger(values, inside, [HUB.verify_key]).signed.size == 30
    ledger = Ledger()
    for value in values[:20]:
        ledger.append(value)
    late = ledger.heads_since(decode_head(inside[1], 1), HUB, START + OVERLAP * 2)
    verified = verify_ledger(values[:20], [*inside[:2], late[0].to_bytes()], [HUB.verify_key])
    (forged,) = verified.forged_heads
    assert (forged.head, forged.error) == (2, "HeadKeyError")
    assert "retired" in forged.problem
    assert not verified.ok


def test_rotation_signed_by_an_unknown_key_is_refused() -> None:
    values = records(10)
    heads, _ = _chain(values, [(10, HUB)])
    forged = rotation_head(
        decode_head(heads[0], 0), OTHER_HUB, START, Rotation(NEW_HUB.verify_key, START)
    )
    verified = verify_ledger(values, [heads[0], forged.to_bytes()], [HUB.verify_key])
    (named,) = verified.forged_heads
    assert (named.head, named.key_id, named.error) == (1, OTHER_HUB.key_id, "HeadSignatureError")
    assert not verified.ok
    assert verified.rotations == 0  # the forged rotation named no key


def test_a_rotated_out_key_cannot_name_another_successor() -> None:
    values = records(10)
    heads, _ = _chain(values, [(10, HUB), (10, None)])
    last = decode_head(heads[1], 1)
    again = rotation_head(last, HUB, START, Rotation(OTHER_HUB.verify_key, START + OVERLAP))
    with pytest.raises(HeadKeyError) as info:
        verify_ledger(values, [*heads, again.to_bytes()], [HUB.verify_key])
    assert "cannot rotate again" in info.value.problem


def test_rotation_before_any_head_is_accepted() -> None:
    values = records(5)
    heads, _ = _chain(values, [(0, None), (5, NEW_HUB)])
    verified = verify_ledger(values, heads, [HUB.verify_key])
    assert (verified.rotations, verified.signed.size) == (1, 5)


def test_writer_chaining_from_a_stale_rotation_head_still_verifies() -> None:
    """A rotation head restating size 10 lands after a head at 20; the writer chains from it."""
    values = records(30)
    heads, ledger = _chain(values, [(10, HUB), (20, HUB)])
    stale = rotation_head(
        decode_head(heads[0], 0), HUB, START + timedelta(hours=2),
        Rotation(NEW_HUB.verify_key, START + OVERLAP),
    )  # fmt: skip
    for value in values[20:]:
        ledger.append(value)
    after = ledger.heads_since(stale, NEW_HUB, START + timedelta(hours=3))
    all_heads = [*heads, stale.to_bytes(), *(h.to_bytes() for h in after)]
    verified = verify_ledger(values, all_heads, [HUB.verify_key])
    assert verified.signed.size == 30
    forged = replace(after[0], leaves=(bytes(32), *after[0].leaves[1:]))
    signed = replace(forged, signature=NEW_HUB.sign(forged.statement()))
    with pytest.raises(HeadChainError, match="differ from the signed ones"):
        verify_ledger(values, [*heads, stale.to_bytes(), signed.to_bytes()], [HUB.verify_key])
