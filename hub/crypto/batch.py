"""Batch seals for agency feeds: one Ed25519 signature per batch, provable per event.

An agency signs a batch of N encoded events once. The events' bytes are the leaves of an
RFC 9162 Merkle tree, and the signature covers a domain-separated statement::

    b"vru-hub/feed-batch/v1" ‖ len(agency_id) ‖ agency_id ‖ key_id (8 bytes) ‖ batch_id (16 bytes)
        ‖ size (u64) ‖ root (32 bytes)

Each event travels with an :class:`EventSeal` (one Kafka header, see :meth:`EventSeal.to_bytes`)
holding its index and inclusion proof plus the batch signature, so one event, its seal and the
agency's public key prove the event's origin offline (:func:`verify_seal`). The hub's
:class:`SealVerifier` recomputes the root from the proof (a few SHA-256 calls) and pays for
Ed25519 only on the first event of each batch it sees, remembering verified batches in a
bounded LRU.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from hub.crypto.keyfile import KeyInfo
from hub.crypto.sealcodec import BATCH_ID_SIZE, MAX_BATCH, EventSeal, decode_seal
from hub.crypto.signing import SigningKey, VerifyKey
from hub.errors import (
    BadSignatureError,
    InclusionProofError,
    KeyExpiredError,
    KeyNotYetValidError,
    KeyringError,
    UnknownKeyError,
)
from hub.merkle import MerkleTree, hash_leaf, hash_leaves, root_from_inclusion

FEED_DOMAIN = b"vru-hub/feed-batch/v1"
log = structlog.get_logger("hub.crypto")

__all__ = [
    "FEED_DOMAIN",
    "MAX_BATCH",
    "AgencyKeySet",
    "BatchHead",
    "EventSeal",
    "SealVerifier",
    "batch_statement",
    "seal_batch",
    "verify_seal",
]


@dataclass(frozen=True, slots=True)
class BatchHead:
    """What an agency signs for one batch."""

    agency_id: str
    key_id: str
    batch_id: bytes
    size: int
    root: bytes


def batch_statement(head: BatchHead) -> bytes:
    """The exact bytes the batch signature covers."""
    agency = head.agency_id.encode()
    return b"".join(
        (
            FEED_DOMAIN,
            len(agency).to_bytes(1, "big"),
            agency,
            bytes.fromhex(head.key_id),
            head.batch_id,
            head.size.to_bytes(8, "big"),
            head.root,
        )
    )


def seal_batch(
    events: Sequence[bytes], key: SigningKey, agency_id: str, batch_id: bytes | None = None
) -> list[EventSeal]:
    """Sign a batch of encoded events once; returns one seal per event, in order."""
    if not 0 < len(events) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} events, not {len(events)}")
    batch_id = secrets.token_bytes(BATCH_ID_SIZE) if batch_id is None else batch_id
    tree = MerkleTree(hash_leaves(events))
    head = BatchHead(agency_id, key.key_id, batch_id, len(events), tree.root())
    signature = key.sign(batch_statement(head))
    return [
        EventSeal(
            agency_id=agency_id,
            key_id=key.key_id,
            batch_id=batch_id,
            size=head.size,
            index=index,
            proof=tree.inclusion_proof(index),
            signature=signature,
        )
        for index in range(head.size)
    ]


def _head_of(event: bytes, seal: EventSeal) -> BatchHead:
    """The batch head an event and its seal claim; BadSignatureError if the proof is malformed."""
    try:
        root = root_from_inclusion(hash_leaf(event), seal.index, seal.size, seal.proof)
    except InclusionProofError as exc:
        raise BadSignatureError(f"inclusion proof malformed: {exc.problem}") from exc
    return BatchHead(seal.agency_id, seal.key_id, seal.batch_id, seal.size, root)


def verify_seal(event: bytes, seal: EventSeal, key: VerifyKey) -> None:
    """Offline check that ``event`` belongs to a batch ``key`` signed; else BadSignatureError."""
    if key.key_id != seal.key_id:
        raise BadSignatureError(f"seal names key {seal.key_id}, not {key.key_id}")
    key.verify(seal.signature, batch_statement(_head_of(event, seal)))


@dataclass(frozen=True, slots=True)
class AgencyKeySet:
    """Every agency's verify keys and, by key id, their validity windows (KeyInfo)."""

    keys: Mapping[str, Sequence[VerifyKey]]
    windows: Mapping[str, KeyInfo] = field(default_factory=dict)


KeySource = Callable[[], AgencyKeySet]
#: Re-read the key source at most this often when a seal names an unknown key (seconds).
UNKNOWN_KEY_REFRESH_S = 1.0
#: Re-read the key source this often anyway, to see retirements and new windows (seconds).
REFRESH_S = 10.0


class SealVerifier:
    """Verifies sealed events against each agency's public keys, one Ed25519 check per batch.

    ``keys`` maps an agency id to the verify keys it may sign with (several during a rotation
    overlap). A seal naming a key that is not its agency's raises UnknownKeyError. With
    ``windows`` (KeyInfo by key id) and a receive time, a key used outside its window raises
    KeyExpiredError or KeyNotYetValidError. With a ``source``, the keys are re-read when a seal
    names an unknown key (at most once a second) and every ten seconds, so a rotation needs
    no restart.
    """

    def __init__(
        self,
        keys: Mapping[str, Iterable[VerifyKey]],
        cache_size: int = 4096,
        *,
        windows: Mapping[str, KeyInfo] | None = None,
        source: KeySource | None = None,
    ) -> None:
        self._install(AgencyKeySet({a: tuple(ks) for a, ks in keys.items()}, windows or {}))
        self._verified: OrderedDict[tuple[BatchHead, bytes], None] = OrderedDict()
        self._cache_size = cache_size
        self._source = source
        self._loaded_at = time.monotonic()
        self.signature_checks = 0
        self.refreshes = 0

    @classmethod
    def from_source(cls, source: KeySource, cache_size: int = 4096) -> SealVerifier:
        """A verifier that loads its keys from ``source`` now and refreshes from it."""
        keys = source()
        return cls(keys.keys, cache_size, windows=keys.windows, source=source)

    def _install(self, keys: AgencyKeySet) -> None:
        self._keys = {
            (agency_id, key.key_id): key for agency_id, ks in keys.keys.items() for key in ks
        }
        self._windows = dict(keys.windows)

    def _refresh(self, min_age_s: float) -> None:
        now = time.monotonic()
        if self._source is None or now - self._loaded_at < min_age_s:
            return
        self._loaded_at = now
        try:
            self._install(self._source())
        except KeyringError as exc:  # keep verifying with the keys we have; say so loudly
            log.warning("agency_keys_reload_failed", error=type(exc).__name__, detail=str(exc))
            return
        self.refreshes += 1

    def _key(self, agency_id: str, key_id: str) -> VerifyKey:
        self._refresh(REFRESH_S)
        key = self._keys.get((agency_id, key_id))
        if key is None:
            self._refresh(UNKNOWN_KEY_REFRESH_S)
            key = self._keys.get((agency_id, key_id))
        if key is None:
            raise UnknownKeyError(key_id)
        return key

    def check_window(self, key_id: str, at: datetime) -> None:
        """Raise if the key's window (if it has one) does not contain ``at``."""
        info = self._windows.get(key_id)
        problem = None if info is None else info.window_problem(at)
        if info is None or problem is None:
            return
        if problem == "expired":
            bound = info.not_after.isoformat() if info.not_after else ""
            raise KeyExpiredError(key_id, bound, "received after its not-after")
        bound = info.not_before.isoformat() if info.not_before else ""
        raise KeyNotYetValidError(key_id, bound, "received before its not-before")

    def verify(
        self, event: bytes, seal: EventSeal | bytes, received_at: datetime | None = None
    ) -> EventSeal:
        """Check one event against its seal (parsed or raw header bytes); returns the seal.

        ``received_at`` (when the hub received the event) is checked against the key's window.
        """
        if not isinstance(seal, EventSeal):
            seal = decode_seal(seal)
        self.verify_head(_head_of(event, seal), seal.signature, received_at)
        return seal

    def verify_head(
        self, head: BatchHead, signature: bytes, received_at: datetime | None = None
    ) -> None:
        """Check an agency's signature over a batch head (a batch record's, or one event's).

        ``received_at`` (when the hub received the batch) is checked against the key's window.
        """
        key = self._key(head.agency_id, head.key_id)
        entry = (head, signature)
        if entry in self._verified:
            self._verified.move_to_end(entry)
        else:
            self.signature_checks += 1
            key.verify(signature, batch_statement(head))
            self._verified[entry] = None
            if len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        if received_at is not None:
            self.check_window(head.key_id, received_at)
