"""The decision ledger: decision records folded, in topic order, into an RFC 9162 tree.

The correlate agent delivers at least once, so a decision record can appear more than once on
the decisions topic. The ledger de-duplicates by decision id: **the first occurrence is the
leaf**, and a later record with the same id must be byte-identical once canonical (else it is a
:class:`~hub.errors.LedgerEntryError`, ``conflicting_repeat``: two different records cannot
share an id). The writer (the ledger agent) and every verifier fold the topic with this same
class, so they agree on the leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.audit.entry import Entry, entry_of
from hub.audit.head import GENESIS, Checkpoint, TreeHead, sign_head
from hub.crypto import SigningKey
from hub.errors import LedgerEntryError
from hub.merkle import MerkleTree

#: Leaf hashes one head may carry (32 bytes each: 4096 keep a head record under 200 KB).
MAX_LEAVES_PER_HEAD = 4096


@dataclass(frozen=True, slots=True)
class Appended:
    """What folding one record did: a new leaf at ``index``, or a repeat of one (``repeat``)."""

    index: int
    entry: Entry
    repeat: bool


class Ledger:
    """The leaves so far, their tree, and which decision id is at which index."""

    __slots__ = ("_ids", "_index", "_tree")

    def __init__(self) -> None:
        self._tree = MerkleTree()
        self._ids: list[str] = []
        self._index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._tree)

    @property
    def tree(self) -> MerkleTree:
        """The Merkle tree of the leaves (for proofs)."""
        return self._tree

    def append(self, value: bytes) -> Appended:
        """Fold one decisions-topic record in; raises LedgerEntryError if it is not one."""
        entry = entry_of(value, len(self._tree))
        known = self._index.get(entry.decision_id)
        if known is not None:
            if self._tree.leaf_hash(known) != entry.leaf_hash:
                raise LedgerEntryError(known, entry.decision_id, "conflicting_repeat")
            return Appended(known, entry, repeat=True)
        index = self._tree.append_hash(entry.leaf_hash)
        self._ids.append(entry.decision_id)
        self._index[entry.decision_id] = index
        return Appended(index, entry, repeat=False)

    def decision_id(self, index: int) -> str:
        """The decision id of leaf ``index``."""
        return self._ids[index]

    def index_of(self, decision_id: str) -> int | None:
        """The leaf index of a decision, or None."""
        return self._index.get(decision_id)

    def checkpoint(self, size: int | None = None) -> Checkpoint:
        """The size and root at ``size`` leaves (default: all of them)."""
        size = len(self) if size is None else size
        return Checkpoint(size, self._tree.root(size))

    def heads_since(
        self, previous: TreeHead | None, key: SigningKey, at: datetime
    ) -> list[TreeHead]:
        """Signed heads bringing the chain from ``previous`` to the current size.

        Empty when nothing was appended since ``previous``. Each head carries at most
        :data:`MAX_LEAVES_PER_HEAD` new leaf hashes, so a long gap gives several heads.
        """
        last = previous.checkpoint if previous is not None else GENESIS
        if last.size > len(self) or self._tree.root(last.size) != last.root:
            raise LedgerEntryError(
                min(last.size, len(self)), None, "the published head is not a prefix of this ledger"
            )
        heads: list[TreeHead] = []
        while last.size < len(self):
            size = min(len(self), last.size + MAX_LEAVES_PER_HEAD)
            consistency = self._tree.consistency_proof(last.size, size) if last.size else ()
            leaves = tuple(self._tree.leaf_hash(i) for i in range(last.size, size))
            head = sign_head(key, self.checkpoint(size), at, last, (consistency, leaves))
            heads.append(head)
            last = head.checkpoint
        return heads
