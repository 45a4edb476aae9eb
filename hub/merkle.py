"""RFC 9162 Merkle trees: hashing, roots, and inclusion and consistency proofs.

Shared by the agency feed seals (:mod:`hub.crypto.batch`) and the audit ledger. Hashing is
domain-separated as in RFC 9162 §2.1.1: a leaf hash is SHA-256(0x00 ‖ data), an interior node
is SHA-256(0x01 ‖ left ‖ right), and the empty tree's root is SHA-256 of the empty string.

:class:`MerkleTree` is append-only and keeps every complete subtree hash by level, so appending
costs O(1) amortised, the root O(log n), and a proof O(log² n). :class:`Frontier` is the compact
range alone (O(log n) hashes) for writers that need roots but never proofs. The verifiers follow
RFC 9162 §2.1.3.2 and §2.1.4.2 and raise errors that carry the sizes involved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from hub.errors import ConsistencyProofError, InclusionProofError, ProofError

HASH_SIZE = 32
_sha256 = hashlib.sha256
EMPTY_ROOT = hashlib.sha256(b"").digest()


def hash_leaf(data: bytes) -> bytes:
    """The RFC 9162 hash of one leaf's data."""
    return hashlib.sha256(b"\x00" + data).digest()


def hash_leaves(items: Sequence[bytes]) -> list[bytes]:
    """The RFC 9162 hash of each leaf's data, in order."""
    return [_sha256(b"\x00" + data).digest() for data in items]


def hash_children(left: bytes, right: bytes) -> bytes:
    """The RFC 9162 hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n`` >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Hash a left-to-right list of perfect subtrees of decreasing size into one root."""
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = hash_children(left, root)
    return root


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """The tree head (MTH) of a list of leaf hashes; the empty list gives :data:`EMPTY_ROOT`."""
    frontier = Frontier()
    for leaf in leaf_hashes:
        frontier = frontier.append(leaf)
    return frontier.root


@dataclass(frozen=True, slots=True)
class Frontier:
    """The compact range of a tree: one hash per set bit of ``size``, largest subtree first."""

    size: int = 0
    hashes: tuple[bytes, ...] = ()

    def append(self, leaf_hash: bytes) -> Frontier:
        """The frontier after appending one leaf hash; O(log n)."""
        stack = [*self.hashes, leaf_hash]
        size = self.size
        while size & 1:
            right = stack.pop()
            stack[-1] = hash_children(stack[-1], right)
            size >>= 1
        return Frontier(self.size + 1, tuple(stack))

    @property
    def root(self) -> bytes:
        """The tree head of the leaves appended so far."""
        return _fold(self.hashes) if self.hashes else EMPTY_ROOT


class MerkleTree:
    """An append-only Merkle tree that can prove inclusion and consistency for any past size."""

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        """The tree of ``leaf_hashes``: each level built whole from the one below, the same
        levels as appending the leaves one by one."""
        level = list(leaf_hashes)
        self._levels: list[list[bytes]] = [level]
        while len(level) > 1:
            level = [
                _sha256(b"\x01" + level[i] + level[i + 1]).digest()
                for i in range(0, len(level) - 1, 2)
            ]
            self._levels.append(level)

    def __len__(self) -> int:
        return len(self._levels[0])

    def append(self, data: bytes) -> int:
        """Append one leaf's data; returns its index."""
        return self.append_hash(hash_leaf(data))

    def append_hash(self, leaf_hash: bytes) -> int:
        """Append one leaf hash; returns its index. Completes every subtree it closes."""
        index = len(self._levels[0])
        self._levels[0].append(leaf_hash)
        level, position = 0, index
        while position & 1:
            below = self._levels[level]
            if len(self._levels) == level + 1:
                self._levels.append([])
            self._levels[level + 1].append(hash_children(below[position - 1], below[position]))
            level, position = level + 1, position >> 1
        return index

    def leaf_hash(self, index: int) -> bytes:
        """The hash stored for leaf ``index``."""
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        """The tree head at ``size`` leaves (default: all of them)."""
        size = len(self) if size is None else self._check_size(size)
        return self._range_hash(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> tuple[bytes, ...]:
        """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 §2.1.3.1)."""
        size = len(self) if size is None else self._check_size(size)
        if not 0 <= index < size:
            raise InclusionProofError(index, size, "index out of range")
        proof: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                proof.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range_hash(lo, lo + k))
                lo += k
        return tuple(reversed(proof))

    def consistency_proof(self, size1: int, size2: int | None = None) -> tuple[bytes, ...]:
        """The proof that the tree at ``size1`` is a prefix of the tree at ``size2`` (§2.1.4.1)."""
        size2 = len(self) if size2 is None else self._check_size(size2)
        if not 0 < size1 <= size2:
            raise ConsistencyProofError(size1, size2, "sizes out of range")
        proof: list[bytes] = []
        lo, hi, whole = 0, size2, True
        while hi - lo != size1 - lo:
            k = _split(hi - lo)
            if size1 - lo <= k:
                proof.append(self._range_hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._range_hash(lo, lo + k))
                lo, whole = lo + k, False
        if not whole:
            proof.append(self._range_hash(lo, hi))
        return tuple(reversed(proof))

    def _check_size(self, size: int) -> int:
        if not 0 <= size <= len(self):
            raise ProofError(f"size {size} is beyond a tree of {len(self)} leaves")
        return size

    def _range_hash(self, lo: int, hi: int) -> bytes:
        """MTH of leaves [lo, hi), where ``lo`` is aligned as in the RFC's recursion."""
        parts: list[bytes] = []
        for level in range((hi - lo).bit_length() - 1, -1, -1):
            if (hi - lo) >> level & 1:
                parts.append(self._levels[level][lo >> level])
                lo += 1 << level
        return _fold(parts)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an audit path (RFC 9162 §2.1.3.2); raises :class:`InclusionProofError`."""
    if len(root) != HASH_SIZE:
        raise InclusionProofError(index, size, "hash of the wrong length")
    if root_from_inclusion(leaf_hash, index, size, proof) != root:
        raise InclusionProofError(index, size, "root mismatch")


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root an audit path leads to, for a verifier that learns the root elsewhere.

    Raises :class:`InclusionProofError` when the path cannot belong to a tree of ``size``.
    """
    if not 0 <= index < size:
        raise InclusionProofError(index, size, "index out of range")
    if len(leaf_hash) != HASH_SIZE or any(len(p) != HASH_SIZE for p in proof):
        raise InclusionProofError(index, size, "hash of the wrong length")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise InclusionProofError(index, size, "proof too long")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hash_children(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InclusionProofError(index, size, "proof too short")
    return r


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check a consistency proof (RFC 9162 §2.1.4.2); raises :class:`ConsistencyProofError`.

    A proof from size 0 is meaningless and refused; equal sizes need an empty proof and equal
    roots, which is all there is to compare.
    """
    if not 0 <= size1 <= size2:
        raise ConsistencyProofError(size1, size2, "size1 is greater than size2")
    if size1 == 0:
        raise ConsistencyProofError(size1, size2, "proof from an empty tree")
    if size1 == size2:
        if proof:
            raise ConsistencyProofError(size1, size2, "equal sizes need an empty proof")
        if root1 != root2:
            raise ConsistencyProofError(size1, size2, "root mismatch")
        return
    if not proof:
        raise ConsistencyProofError(size1, size2, "empty proof")
    if any(len(h) != HASH_SIZE for h in (root1, root2, *proof)):
        raise ConsistencyProofError(size1, size2, "hash of the wrong length")
    first, second = _consistency_roots(size1, size2, proof, root1)
    if first != root1 or second != root2:
        raise ConsistencyProofError(size1, size2, "root mismatch")


def _consistency_roots(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> tuple[bytes, bytes]:
    """Recompute both roots from a consistency proof (the RFC's fr and sr)."""
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyProofError(size1, size2, "proof too long")
        if fn & 1 or fn == sn:
            fr, sr = hash_children(c, fr), hash_children(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = hash_children(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ConsistencyProofError(size1, size2, "proof too short")
    return fr, sr
