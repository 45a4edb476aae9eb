"""A MerkleTree built from its leaves at once is the tree appended leaf by leaf."""

from __future__ import annotations

import pytest

from hub.merkle import MerkleTree, hash_leaf


@pytest.mark.parametrize("size", [*range(70), 127, 128, 129, 1000])
def test_built_at_once_equals_appended(size: int) -> None:
    leaves = [hash_leaf(i.to_bytes(4, "big")) for i in range(size)]
    appended = MerkleTree()
    for leaf in leaves:
        appended.append_hash(leaf)
    whole = MerkleTree(leaves)
    assert whole._levels == appended._levels
    assert whole.root() == appended.root()
    for index in {0, size // 2, size - 1} if size else set():
        assert whole.inclusion_proof(index) == appended.inclusion_proof(index)
    whole.append(b"next")
    appended.append(b"next")
    assert whole._levels == appended._levels
    assert whole.root() == appended.root()


def test_the_leaf_list_given_is_not_kept() -> None:
    leaves = [hash_leaf(b"a"), hash_leaf(b"b")]
    tree = MerkleTree(leaves)
    leaves.append(hash_leaf(b"c"))
    assert len(tree) == 2
