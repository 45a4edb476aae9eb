"""Signed tree heads: the hub's signed statement of the ledger's size and root at a time.

Each head chains to the one before it (its size and root) and carries the RFC 9162
consistency proof from it, plus the leaf hashes appended since it. The leaf hashes are not
signed themselves: they are authenticated by the signed root, and they let a verifier name
the exact entry that was altered. The signature input is domain-separated::

    "vru-hub/tree-head/v1" 0x00 ‖ u64 size ‖ root (32) ‖ u64 time (ms since the epoch)
    ‖ key id (8 bytes) ‖ u64 previous size ‖ previous root (32)

On the heads topic a head is canonical JSON (``format`` ``vru-hub/tree-head/v1``; hashes in
hex, the leaf hashes concatenated in base64, the signature in base64).

**Hub key rotation.** A *rotation head* restates the newest checkpoint (its ``previous`` is its
own checkpoint: it adds no leaf), is signed by the current hub key, and names the next key::

    statement ‖ "rotation" ‖ next public key (32) ‖ u64 retire_at (ms)

From it on, verifiers accept heads signed by the next key, and heads signed by the old key
only up to ``retire_at`` (the overlap, while workers still holding the old key are rolled).
A head signed by any other key, even one the verifier was handed, is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from hub.audit.entry import canonical_json
from hub.crypto import SigningKey, VerifyKey
from hub.errors import HeadChainError
from hub.merkle import EMPTY_ROOT, HASH_SIZE

HEAD_FORMAT = "vru-hub/tree-head/v1"
HEAD_DOMAIN = b"vru-hub/tree-head/v1\x00"
_U64 = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A size and the root at that size."""

    size: int
    root: bytes

    def __repr__(self) -> str:
        return f"Checkpoint({self.size}, {self.root.hex()[:16]})"


GENESIS = Checkpoint(0, EMPTY_ROOT)
ROTATION_DOMAIN = b"rotation"


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation head says: the next hub key, and when the signing key retires."""

    next_key: VerifyKey
    retire_at: datetime

    def statement(self) -> bytes:
        """The bytes appended to the head's statement."""
        millis = int(self.retire_at.timestamp() * 1000)
        return ROTATION_DOMAIN + self.next_key.raw + _U64.pack(millis)

    def to_json(self) -> dict[str, str]:
        """JSON-ready form (the public key in base64, its id for readers)."""
        return {
            "next_key": base64.b64encode(self.next_key.raw).decode("ascii"),
            "next_key_id": self.next_key.key_id,
            "retire_at": self.retire_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class TreeHead:
    """One signed tree head and what lets a verifier check it against the previous one."""

    size: int
    root: bytes
    timestamp: datetime
    key_id: str
    previous: Checkpoint
    consistency: tuple[bytes, ...] = field(repr=False)
    leaves: tuple[bytes, ...] = field(repr=False)
    signature: bytes = field(repr=False, default=b"")
    rotation: Rotation | None = None

    @property
    def checkpoint(self) -> Checkpoint:
        """This head's size and root."""
        return Checkpoint(self.size, self.root)

    def statement(self) -> bytes:
        """The bytes the hub signs."""
        millis = int(self.timestamp.timestamp() * 1000)
        return b"".join(
            (
                HEAD_DOMAIN,
                _U64.pack(self.size),
                self.root,
                _U64.pack(millis),
                bytes.fromhex(self.key_id),
                _U64.pack(self.previous.size),
                self.previous.root,
                self.rotation.statement() if self.rotation is not None else b"",
            )
        )

    def to_bytes(self) -> bytes:
        """The head's record value on the heads topic (canonical JSON)."""
        extra = {} if self.rotation is None else {"rotation": self.rotation.to_json()}
        return canonical_json(
            {
                **extra,
                "format": HEAD_FORMAT,
                "size": self.size,
                "root": self.root.hex(),
                "timestamp": self.timestamp.isoformat(),
                "key_id": self.key_id,
                "previous": {"size": self.previous.size, "root": self.previous.root.hex()},
                "consistency": [h.hex() for h in self.consistency],
                "leaves": base64.b64encode(b"".join(self.leaves)).decode("ascii"),
                "signature": base64.b64encode(self.signature).decode("ascii"),
            }
        )


def sign_head(
    key: SigningKey,
    checkpoint: Checkpoint,
    at: datetime,
    previous: Checkpoint,
    proofs: tuple[tuple[bytes, ...], tuple[bytes, ...]],
) -> TreeHead:
    """A head for ``checkpoint`` chained to ``previous``; ``proofs`` = (consistency, leaves)."""
    moment = datetime.fromtimestamp(int(at.timestamp() * 1000) / 1000, UTC)
    consistency, leaves = proofs
    unsigned = TreeHead(
        checkpoint.size, checkpoint.root, moment, key.key_id, previous, consistency, leaves
    )
    return replace(unsigned, signature=key.sign(unsigned.statement()))


def rotation_head(
    last: TreeHead | None, key: SigningKey, at: datetime, rotation: Rotation
) -> TreeHead:
    """A head restating ``last``'s checkpoint (or the empty tree), naming the next hub key."""
    checkpoint = last.checkpoint if last is not None else GENESIS
    moment = datetime.fromtimestamp(int(at.timestamp() * 1000) / 1000, UTC)
    retire_at = datetime.fromtimestamp(int(rotation.retire_at.timestamp() * 1000) / 1000, UTC)
    rotation = Rotation(rotation.next_key, retire_at)
    unsigned = TreeHead(
        checkpoint.size, checkpoint.root, moment, key.key_id, checkpoint, (), (), b"", rotation
    )
    return replace(unsigned, signature=key.sign(unsigned.statement()))


def decode_head(value: bytes, position: int) -> TreeHead:
    """Parse one heads-topic record; :class:`HeadChainError` at ``position`` if malformed."""
    try:
        raw = json.loads(value)
        if raw["format"] != HEAD_FORMAT:
            raise HeadChainError(position, f"not a {HEAD_FORMAT} record")
        return _head(raw)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise HeadChainError(position, f"malformed head ({type(exc).__name__})") from exc


def _head(raw: dict[str, Any]) -> TreeHead:
    leaves = base64.b64decode(raw["leaves"], validate=True)
    if len(leaves) % HASH_SIZE:
        raise ValueError("leaf hashes are not a whole number of hashes")
    timestamp = datetime.fromisoformat(raw["timestamp"])
    if timestamp.tzinfo is None:
        raise ValueError("timestamp without a time zone")
    key_id = str(raw["key_id"])
    if len(bytes.fromhex(key_id)) != 8:  # noqa: PLR2004  # key ids are 16 hex digits
        raise ValueError("key id is not 16 hex digits")
    return TreeHead(
        size=_count(raw["size"]),
        root=_hash(raw["root"]),
        timestamp=timestamp,
        key_id=key_id,
        previous=Checkpoint(_count(raw["previous"]["size"]), _hash(raw["previous"]["root"])),
        consistency=tuple(_hash(h) for h in raw["consistency"]),
        leaves=tuple(leaves[i : i + HASH_SIZE] for i in range(0, len(leaves), HASH_SIZE)),
        signature=base64.b64decode(raw["signature"], validate=True),
        rotation=_rotation(raw["rotation"]) if "rotation" in raw else None,
    )


def _rotation(raw: dict[str, Any]) -> Rotation:
    public = base64.b64decode(raw["next_key"], validate=True)
    if len(public) != len(bytes(32)):
        raise ValueError("rotation key is not 32 bytes")
    key = VerifyKey(public)
    if raw.get("next_key_id") != key.key_id:
        raise ValueError("rotation key id does not match its key")
    retire_at = datetime.fromisoformat(raw["retire_at"])
    if retire_at.tzinfo is None:
        raise ValueError("retire_at without a time zone")
    return Rotation(key, retire_at)


def _hash(text: str) -> bytes:
    value = bytes.fromhex(text)
    if len(value) != HASH_SIZE:
        raise ValueError("hash of the wrong length")
    return value


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("size is not a non-negative integer")
    return value
