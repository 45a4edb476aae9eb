"""Verifying a ledger against its signed tree heads, from the start, without trusting the hub.

Order of checks (the first failure raises, naming what is wrong):

1. every head: a valid Ed25519 signature by a known hub key (:class:`HeadSignatureError`);
2. the chain: each head names the previous head's size and root, time never goes back, the
   RFC 9162 consistency proof from the previous head holds, and its leaf hashes, appended to
   those already authenticated, give its signed root (:class:`HeadChainError`). A head that
   repeats a checkpoint already authenticated (two writers, or a redelivery) is harmless and
   counted as ``redundant``;
3. the entries: folded like the writer folds them (:class:`~hub.audit.ledger.Ledger`), each
   leaf must equal the authenticated leaf at its index, and every signed index must be present
   (:class:`LedgerEntryError` naming the first bad index and the decision id found there);
4. inclusion: every entry's RFC 9162 audit path leads to the last head's root.

Entries after the last head are reported as ``unsealed``: not yet covered by a signature.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.audit.head import GENESIS, Checkpoint, TreeHead, decode_head
from hub.audit.ledger import Appended, Ledger
from hub.crypto import VerifyKey
from hub.errors import (
    BadSignatureError,
    ConsistencyProofError,
    HeadChainError,
    HeadSignatureError,
    InclusionProofError,
    LedgerEntryError,
)
from hub.merkle import MerkleTree, verify_consistency, verify_inclusion


@dataclass(frozen=True, slots=True)
class Verified:
    """What a successful verification covered."""

    records: int
    entries: int
    repeats: int
    heads: int
    redundant_heads: int
    signed: Checkpoint
    unsealed: int


@dataclass(slots=True)
class HeadChain:
    """The heads accepted so far and the leaf hashes they authenticate."""

    last: TreeHead | None = None
    leaves: MerkleTree = field(default_factory=MerkleTree)
    accepted: int = 0
    redundant: int = 0

    @property
    def checkpoint(self) -> Checkpoint:
        return self.last.checkpoint if self.last is not None else GENESIS


def verify_heads(heads: Iterable[bytes], keys: Iterable[VerifyKey]) -> HeadChain:
    """Check signatures and the chain of heads; returns the authenticated leaf hashes."""
    by_id = {k.key_id: k for k in keys}
    chain = HeadChain()
    for position, value in enumerate(heads):
        head = decode_head(value, position)
        key = by_id.get(head.key_id)
        if key is None:
            raise HeadSignatureError(position, head.key_id)
        try:
            key.verify(head.signature, head.statement())
        except BadSignatureError as exc:
            raise HeadSignatureError(position, head.key_id) from exc
        _chain_one(chain, head, position)
    return chain


def _chain_one(chain: HeadChain, head: TreeHead, position: int) -> None:
    leaves = chain.leaves
    last = chain.checkpoint
    if head.size <= last.size:
        if head.size == 0 or leaves.root(head.size) != head.root:
            raise HeadChainError(position, f"size {head.size} disagrees with the signed ledger")
        chain.redundant += 1
        return
    if head.previous != last:
        raise HeadChainError(position, f"chains from {head.previous}, not from {last}")
    if chain.last is not None and head.timestamp < chain.last.timestamp:
        raise HeadChainError(position, "time goes back")
    if last.size:
        try:
            verify_consistency(last.size, head.size, head.consistency, last.root, head.root)
        except ConsistencyProofError as exc:
            raise HeadChainError(position, f"consistency proof: {exc.problem}") from exc
    if len(head.leaves) != head.size - last.size:
        raise HeadChainError(position, "carries the wrong number of leaf hashes")
    for leaf in head.leaves:
        leaves.append_hash(leaf)
    if leaves.root() != head.root:
        raise HeadChainError(position, "leaf hashes do not give the signed root")
    chain.last = head
    chain.accepted += 1


def verify_ledger(
    records: Iterable[bytes], heads: Iterable[bytes], keys: Iterable[VerifyKey]
) -> Verified:
    """Verify a decisions topic (records in offset order) against its heads topic."""
    chain = verify_heads(heads, keys)
    signed = chain.leaves
    ledger, count, repeats = Ledger(), 0, 0
    for value in records:
        appended = ledger.append(value)
        count += 1
        repeats += appended.repeat
        _check_leaf(signed, appended)
    if len(ledger) < len(signed):
        raise LedgerEntryError(len(ledger), None, "missing: the ledger ends before its signed size")
    _check_inclusion(ledger, chain.checkpoint)
    return Verified(
        records=count,
        entries=len(ledger),
        repeats=repeats,
        heads=chain.accepted,
        redundant_heads=chain.redundant,
        signed=chain.checkpoint,
        unsealed=len(ledger) - chain.checkpoint.size,
    )


def _check_leaf(signed: MerkleTree, appended: Appended) -> None:
    index = appended.index
    if appended.repeat or index >= len(signed):
        return
    if signed.leaf_hash(index) != appended.entry.leaf_hash:
        raise LedgerEntryError(index, appended.entry.decision_id, "differs from the signed leaf")


def _check_inclusion(ledger: Ledger, signed: Checkpoint) -> None:
    """Every signed entry's audit path leads to the last signed root."""
    tree = ledger.tree
    for index in range(signed.size):
        proof = tree.inclusion_proof(index, signed.size)
        try:
            verify_inclusion(tree.leaf_hash(index), index, signed.size, proof, signed.root)
        except InclusionProofError as exc:
            raise LedgerEntryError(index, ledger.decision_id(index), "not included") from exc
