"""Properties of hub.merkle against a literal transcription of RFC 9162's recursive definitions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import ConsistencyProofError, InclusionProofError, ProofError
from hub.merkle import (
    EMPTY_ROOT,
    Frontier,
    MerkleTree,
    hash_children,
    hash_leaf,
    root_of,
    verify_consistency,
    verify_inclusion,
)


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, written recursively and independently of the module."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


def _tree(leaves: list[bytes]) -> MerkleTree:
    tree = MerkleTree()
    for leaf in leaves:
        tree.append(leaf)
    return tree


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


def _accepts(verify: Callable[..., None], args: tuple[object, ...]) -> bool:
    """True when a verifier accepts the arguments; only its own typed error counts as refusal."""
    try:
        verify(*args)
    except ProofError:
        return False
    return True


def test_hashes_are_domain_separated() -> None:
    left, right = b"a" * 32, b"b" * 32
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert hash_leaf(b"x") == hashlib.sha256(b"\x00x").digest()
    assert hash_children(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert root_of([]) == EMPTY_ROOT
    assert MerkleTree().root() == EMPTY_ROOT


@given(st.lists(st.binary(max_size=8), max_size=70))
def test_every_root_matches_the_recursive_definition(leaves: list[bytes]) -> None:
    tree = _tree(leaves)
    frontier = Frontier()
    for size in range(len(leaves) + 1):
        assert tree.root(size) == _mth(leaves[:size])
        assert frontier.root == _mth(leaves[:size])
        if size < len(leaves):
            frontier = frontier.append(hash_leaf(leaves[size]))
    assert root_of([hash_leaf(x) for x in leaves]) == _mth(leaves)


@given(leaf_lists, st.data())
def test_inclusion_round_trip(leaves: list[bytes], data: st.DataObject) -> None:
    tree = _tree(leaves)
    size = data.draw(st.integers(1, len(leaves)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = tree.inclusion_proof(index, size)
    verify_inclusion(hash_leaf(leaves[index]), index, size, proof, _mth(leaves[:size]))


@given(leaf_lists, st.data())
def test_consistency_round_trip(leaves: list[bytes], data: st.DataObject) -> None:
    tree = _tree(leaves)
    size2 = data.draw(st.integers(1, len(leaves)), label="size2")
    size1 = data.draw(st.integers(1, size2), label="size1")
    proof = tree.consistency_proof(size1, size2)
    verify_consistency(size1, size2, proof, _mth(leaves[:size1]), _mth(leaves[:size2]))


@given(st.lists(st.binary(max_size=4), min_size=2, max_size=40, unique=True), st.data())
def test_inclusion_tamper_probes_all_fail(leaves: list[bytes], data: st.DataObject) -> None:
    tree = _tree(leaves)
    size = data.draw(st.integers(2, len(leaves)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, root = hash_leaf(leaves[index]), tree.root(size)
    proof = list(tree.inclusion_proof(index, size))
    bit = data.draw(st.integers(0, 255), label="bit")
    at = data.draw(st.integers(0, len(proof) - 1), label="at")
    flipped = [*proof[:at], _flip(proof[at], bit), *proof[at + 1 :]]
    probes = {
        "flipped leaf": (_flip(leaf, bit), index, size, proof, root),
        "flipped root": (leaf, index, size, proof, _flip(root, bit)),
        "flipped proof": (leaf, index, size, flipped, root),
        "wrong index": (leaf, (index + 1) % size, size, proof, root),
        # An audit path alone does not pin the size (leaf 0 has the same path in trees of 3 and
        # 4), which is why seals and tree heads sign the size; these two shapes always fail.
        "doubled size": (leaf, index, size * 2, proof, root),
        "size at the index": (leaf, index, index, proof, root),
        "truncated proof": (leaf, index, size, proof[:-1], root),
        "extended proof": (leaf, index, size, [*proof, root], root),
    }
    accepted = [name for name, args in probes.items() if _accepts(verify_inclusion, args)]
    assert accepted == []


@given(st.lists(st.binary(max_size=4), min_size=3, max_size=40, unique=True), st.data())
def test_consistency_tamper_probes_all_fail(leaves: list[bytes], data: st.DataObject) -> None:
    tree = _tree(leaves)
    size2 = data.draw(st.integers(2, len(leaves)), label="size2")
    size1 = data.draw(st.integers(1, size2 - 1), label="size1")
    root1, root2 = tree.root(size1), tree.root(size2)
    proof = list(tree.consistency_proof(size1, size2))
    bit = data.draw(st.integers(0, 255), label="bit")
    at = data.draw(st.integers(0, len(proof) - 1), label="at")
    flipped = [*proof[:at], _flip(proof[at], bit), *proof[at + 1 :]]
    probes = {
        "flipped root1": (size1, size2, proof, _flip(root1, bit), root2),
        "flipped root2": (size1, size2, proof, root1, _flip(root2, bit)),
        "flipped proof": (size1, size2, flipped, root1, root2),
        "swapped roots": (size1, size2, proof, root2, root1),
        "truncated proof": (size1, size2, proof[:-1], root1, root2),
        "extended proof": (size1, size2, [*proof, root1], root1, root2),
        "zero size1": (0, size2, proof, root1, root2),
    }
    accepted = [name for name, args in probes.items() if _accepts(verify_consistency, args)]
    assert accepted == []


def test_errors_carry_index_and_size() -> None:
    tree = _tree([b"a", b"b", b"c"])
    with pytest.raises(InclusionProofError) as caught:
        verify_inclusion(hash_leaf(b"a"), 0, 3, tree.inclusion_proof(1), tree.root())
    assert (caught.value.index, caught.value.size, caught.value.problem) == (0, 3, "root mismatch")
    assert caught.value.reason == "bad_proof"


def test_generators_refuse_sizes_outside_the_tree() -> None:
    tree = _tree([b"a", b"b"])
    with pytest.raises(InclusionProofError):
        tree.inclusion_proof(2, 2)
    with pytest.raises(ConsistencyProofError):
        tree.consistency_proof(0, 2)
    with pytest.raises(ProofError):
        tree.root(3)


def test_proofs_for_a_large_tree_stay_logarithmic() -> None:
    tree = MerkleTree([hash_leaf(i.to_bytes(4, "big")) for i in range(100_003)])
    proof = tree.inclusion_proof(77_777)
    assert len(proof) == 17
    verify_inclusion(tree.leaf_hash(77_777), 77_777, len(tree), proof, tree.root())
    old = 65_537
    verify_consistency(old, len(tree), tree.consistency_proof(old), tree.root(old), tree.root())
