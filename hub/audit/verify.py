"""Verifying a ledger against its signed tree heads, from the start, without trusting the hub.

Order of checks (the first failure raises, naming what is wrong):

1. every head: a valid Ed25519 signature by a hub key the chain accepts at that point
   (:class:`HeadSignatureError`). The first head must be signed by one of the keys the
   verifier was given (its trust anchors); after it, only by the key that signed the chain so
   far, or by a key a *rotation head* signed by that key named (the new public key travels in
   the rotation head, so an auditor holding only the first key can follow every rotation). A
   rotated-out key is accepted until the ``retire_at`` its rotation named. A head signed by
   any other key, even one the verifier was handed, raises :class:`HeadKeyError`;
2. the chain: each head names an authenticated checkpoint as its previous one (the newest, or
   an earlier one when two writers raced: the leaves it repeats must then be the authenticated
   ones), time never goes back, the RFC 9162 consistency proof from the previous checkpoint
   holds, and its leaf hashes, appended to those already authenticated, give its signed root
   (:class:`HeadChainError`). A head that repeats a checkpoint already authenticated (two
   writers, a redelivery, a rotation head) is harmless and counted as ``redundant``;
3. the entries: folded like the writer folds them (:class:`~hub.audit.ledger.Ledger`), each
   leaf must equal the authenticated leaf at its index, and every signed index must be present
   (:class:`LedgerEntryError` naming the first bad index and the decision id found there);
4. inclusion: every entry's RFC 9162 audit path leads to the last head's root.

Entries after the last head are reported as ``unsealed``: not yet covered by a signature.

**Forged heads and records** (anyone can write to the topics). A head that does not parse or
whose signature no key the chain accepts there verifies is *forged*: it is skipped, named in
the result (``forged_heads``), and the chain goes on from the genuine heads, as the head
writer does. If the next genuine head cannot chain because a skipped head was the one it
chains from (a genuine head altered, not a forged one added), that head's signature error is
raised, as before. :func:`verify_topics` also opens the decisions topic's records with the
hub keys the chain attests (``hub.audit.sealed``): a record that is not an authentic hub
record never becomes an entry and is named in ``uncovered``. A result with forged heads or
uncovered records is not :attr:`Verified.ok`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from hub.audit.head import GENESIS, Checkpoint, TreeHead, decode_head
from hub.audit.ledger import Appended, Ledger
from hub.audit.sealed import Uncovered, open_decisions
from hub.crypto import VerifyKey
from hub.crypto.trust import RecordVerifier, TrustedKeys, Window
from hub.errors import (
    BadSignatureError,
    ConsistencyProofError,
    HeadChainError,
    HeadKeyError,
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
    rotations: int = 0
    """Hub key rotations the chain attested."""
    hub_keys: tuple[str, ...] = ()
    """Every hub key id that signed or was named in the chain, in order of acceptance."""
    forged_heads: tuple[ForgedHead, ...] = ()
    """Heads skipped because they are not the hub's (position, key id, problem)."""
    uncovered: tuple[Uncovered, ...] = ()
    """Decisions-topic records that are not authentic hub records: never in the ledger."""
    last_head_at: datetime | None = None
    """The timestamp of the newest genuine head (None: no head yet)."""

    @property
    def ok(self) -> bool:
        """True when nothing forged was found beside the verified ledger."""
        return not self.forged_heads and not self.uncovered


@dataclass(frozen=True, slots=True)
class ForgedHead:
    """A heads-topic record that is not a head of the hub's chain: skipped, and named."""

    head: int
    key_id: str | None
    error: str
    problem: str

    def to_json(self) -> dict[str, object]:
        """Plain JSON data."""
        return {
            "head": self.head,
            "key_id": self.key_id,
            "error": self.error,
            "problem": self.problem,
        }


@dataclass(slots=True)
class HeadChain:
    """The heads accepted so far, the leaf hashes they authenticate, and the hub keys in use.

    ``keys`` maps each accepted key id to its key and the time it retires (None: current).
    """

    last: TreeHead | None = None
    leaves: MerkleTree = field(default_factory=MerkleTree)
    accepted: int = 0
    redundant: int = 0
    rotations: int = 0
    keys: dict[str, tuple[VerifyKey, datetime | None]] = field(default_factory=dict)
    successors: dict[str, str] = field(default_factory=dict)
    anchors: dict[str, VerifyKey] = field(default_factory=dict)
    forged: list[ForgedHead] = field(default_factory=list)
    errors: list[HeadSignatureError | HeadChainError] = field(default_factory=list)
    """The error of each forged head, in the order of ``forged``."""
    position: int = 0
    _skipped: list[tuple[HeadSignatureError | HeadChainError, Checkpoint | None]] = field(
        default_factory=list
    )

    @property
    def checkpoint(self) -> Checkpoint:
        return self.last.checkpoint if self.last is not None else GENESIS

    def add(self, value: bytes) -> TreeHead | None:
        """Fold the next head of the topic in; None when it was skipped as forged.

        Raises :class:`HeadChainError` (or the signature error of the skipped head it chains
        from) when a genuine head breaks the chain.
        """
        position = self.position
        self.position += 1
        try:
            head = decode_head(value, position)
        except HeadChainError as exc:
            self._skip(exc, None, None)
            return None
        try:
            key = _signer(self, self.anchors, head, position)
            key.verify(head.signature, head.statement())
        except BadSignatureError as exc:
            self._skip(HeadSignatureError(position, head.key_id), head, exc)
            return None
        except HeadSignatureError as exc:
            self._skip(exc, head, None)
            return None
        try:
            _chain_one(self, head, position)
        except HeadChainError:
            if self._skipped:
                raise self._skipped[0][0] from None
            raise
        self._skipped.clear()
        self.keys.setdefault(head.key_id, (key, None))
        if head.rotation is not None:
            _rotate(self, head, position)
        return head

    def _skip(
        self,
        error: HeadSignatureError | HeadChainError,
        head: TreeHead | None,
        cause: Exception | None,
    ) -> None:
        problem = getattr(error, "problem", None) or str(error)
        key_id = head.key_id if head is not None else None
        self.forged.append(ForgedHead(error.head, key_id, type(error).__name__, problem))
        self.errors.append(error)
        self._skipped.append((error, head.checkpoint if head is not None else None))
        if cause is not None:
            error.__cause__ = cause

    def trusted(self) -> TrustedKeys:
        """The hub keys records may be signed with: those the chain accepted (each until its
        retirement), or the anchors while there is no head yet."""
        if not self.keys:
            return TrustedKeys.public([(k, Window()) for k in self.anchors.values()], [])
        return TrustedKeys.public(
            [(key, Window(None, retire_at)) for key, retire_at in self.keys.values()], []
        )


def verify_heads(heads: Iterable[bytes], keys: Iterable[VerifyKey]) -> HeadChain:
    """Check signatures and the chain of heads; returns the authenticated leaf hashes.

    ``keys`` are the trust anchors: the first head must be signed by one of them. Forged
    heads are skipped and listed in ``forged``.
    """
    chain = HeadChain(anchors={k.key_id: k for k in keys})
    for value in heads:
        chain.add(value)
    return chain


def _signer(
    chain: HeadChain, anchors: dict[str, VerifyKey], head: TreeHead, position: int
) -> VerifyKey:
    """The key that may sign ``head`` here, or the error naming why none may."""
    if not chain.keys:
        anchor = anchors.get(head.key_id)
        if anchor is None:
            raise HeadSignatureError(position, head.key_id)
        return anchor
    accepted = chain.keys.get(head.key_id)
    if accepted is None:
        if head.key_id in anchors:
            raise HeadKeyError(position, head.key_id, "is not attested by a rotation in the chain")
        raise HeadSignatureError(position, head.key_id)
    key, retire_at = accepted
    if retire_at is not None and head.timestamp > retire_at:
        raise HeadKeyError(position, head.key_id, f"was retired at {retire_at.isoformat()}")
    return key


def _rotate(chain: HeadChain, head: TreeHead, position: int) -> None:
    """Accept the key a rotation head names; its signer retires at the time it gives."""
    rotation = head.rotation
    assert rotation is not None  # noqa: S101  # the caller checked; narrows the type
    signer = chain.keys[head.key_id][0]
    named = chain.successors.get(head.key_id)
    if named is not None:
        if named != rotation.next_key.key_id:
            raise HeadKeyError(position, head.key_id, "already rotated out; cannot rotate again")
        return  # the same rotation published again (a retried command): keep the first one
    chain.keys[head.key_id] = (signer, rotation.retire_at)
    chain.keys.setdefault(rotation.next_key.key_id, (rotation.next_key, None))
    chain.successors[head.key_id] = rotation.next_key.key_id
    chain.rotations += 1


def _chain_one(chain: HeadChain, head: TreeHead, position: int) -> None:
    leaves = chain.leaves
    last = chain.checkpoint
    if head.size <= last.size:
        if leaves.root(head.size) != head.root or (head.size == 0 and head.rotation is None):
            raise HeadChainError(position, f"size {head.size} disagrees with the signed ledger")
        chain.redundant += 1
        return
    previous = _previous(chain, head, position)
    if chain.last is not None and head.timestamp < chain.last.timestamp:
        raise HeadChainError(position, "time goes back")
    if previous.size:
        try:
            verify_consistency(previous.size, head.size, head.consistency, previous.root, head.root)
        except ConsistencyProofError as exc:
            raise HeadChainError(position, f"consistency proof: {exc.problem}") from exc
    if len(head.leaves) != head.size - previous.size:
        raise HeadChainError(position, "carries the wrong number of leaf hashes")
    repeated = last.size - previous.size
    if any(leaves.leaf_hash(previous.size + i) != h for i, h in enumerate(head.leaves[:repeated])):
        raise HeadChainError(position, "repeats leaf hashes that differ from the signed ones")
    for leaf in head.leaves[repeated:]:
        leaves.append_hash(leaf)
    if leaves.root() != head.root:
        raise HeadChainError(position, "leaf hashes do not give the signed root")
    chain.last = head
    chain.accepted += 1


def _previous(chain: HeadChain, head: TreeHead, position: int) -> Checkpoint:
    """The checkpoint ``head`` chains from: the newest, or an earlier authenticated one."""
    last, previous = chain.checkpoint, head.previous
    if previous == last:
        return last
    if previous.size < last.size and chain.leaves.root(previous.size) == previous.root:
        return previous
    raise HeadChainError(position, f"chains from {head.previous}, not from {last}")


def verify_topics(
    records: Iterable[bytes], heads: Iterable[bytes], keys: Iterable[VerifyKey], topic: str
) -> Verified:
    """Verify the decisions topic's records (offset order) against its heads topic.

    Records are opened with the hub keys the chain attests; ``topic`` is the decisions topic's
    name, which every record's signature is bound to.
    """
    chain = verify_heads(heads, keys)
    opened = open_decisions(records, RecordVerifier(chain.trusted()), topic)
    return _verify(opened.entries, chain, opened.uncovered)


def verify_ledger(
    entries: Iterable[bytes], heads: Iterable[bytes], keys: Iterable[VerifyKey]
) -> Verified:
    """Verify decision entries (their JSON, in ledger order) against the heads topic."""
    return _verify(entries, verify_heads(heads, keys), ())


def _verify(
    records: Iterable[bytes], chain: HeadChain, uncovered: tuple[Uncovered, ...]
) -> Verified:
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
        rotations=chain.rotations,
        hub_keys=tuple(chain.keys),
        forged_heads=tuple(chain.forged),
        uncovered=uncovered,
        last_head_at=chain.last.timestamp if chain.last is not None else None,
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
