"""The :class:`EventSeal` value object and its compact binary form (one Kafka header).

Layout, big-endian, version 1::

    u8 version = 1
    u8 n, n bytes   agency id (ASCII, [a-z0-9-], 1..64)
    8 bytes         key id (the 16 hex digits, as bytes)
    16 bytes        batch id
    u32 size        events in the batch, 1..MAX_BATCH
    u32 index       this event's position, < size
    u8 k, k*32      inclusion proof, k <= 32
    64 bytes        Ed25519 signature over the batch statement

A batch of 256 events gives a 361-byte header for a 6-character agency id. Decoding any other
bytes raises :class:`~hub.errors.MalformedSealError` (a BadSignatureError) and nothing else.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from hub.crypto.signing import SIGNATURE_SIZE
from hub.errors import MalformedSealError
from hub.merkle import HASH_SIZE

SEAL_VERSION = 1
KEY_ID_SIZE = 8
BATCH_ID_SIZE = 16
MAX_BATCH = 1 << 20
MAX_PROOF = 32
_AGENCY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True, slots=True)
class EventSeal:
    """Proof that one event belongs to a batch an agency signed."""

    agency_id: str
    key_id: str
    batch_id: bytes
    size: int
    index: int
    proof: tuple[bytes, ...]
    signature: bytes

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise MalformedSealError(f"malformed seal: {problem}")

    @property
    def batch_hex(self) -> str:
        """The batch id as hex, for logs."""
        return self.batch_id.hex()

    def to_bytes(self) -> bytes:
        """The seal's binary form (see the module docstring)."""
        agency = self.agency_id.encode()
        return b"".join(
            (
                bytes((SEAL_VERSION, len(agency))),
                agency,
                bytes.fromhex(self.key_id),
                self.batch_id,
                self.size.to_bytes(4, "big"),
                self.index.to_bytes(4, "big"),
                bytes((len(self.proof),)),
                *self.proof,
                self.signature,
            )
        )


def _problem(seal: EventSeal) -> str | None:  # noqa: PLR0911  # one return per field, in order
    """What is wrong with a seal's fields, if anything (the first problem, in field order)."""
    if _AGENCY.fullmatch(seal.agency_id) is None:
        return "agency id"
    if _KEY_ID.fullmatch(seal.key_id) is None:
        return "key id"
    if len(seal.batch_id) != BATCH_ID_SIZE:
        return "batch id"
    if not 0 < seal.size <= MAX_BATCH:
        return "size"
    if not 0 <= seal.index < seal.size:
        return "index"
    if len(seal.proof) > MAX_PROOF or any(len(p) != HASH_SIZE for p in seal.proof):
        return "proof"
    if len(seal.signature) != SIGNATURE_SIZE:
        return "signature"
    return None


_FIXED = struct.Struct(f">{KEY_ID_SIZE}s{BATCH_ID_SIZE}sIIB")  # key id, batch id, size, index, k


def decode_seal(data: bytes) -> EventSeal:
    """Parse a seal header; any malformed input raises MalformedSealError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedSealError("malformed seal: not bytes")
    data = bytes(data)
    try:
        if data[0] != SEAL_VERSION:
            raise MalformedSealError("malformed seal: unknown version")
        at = 2 + data[1]
        agency = data[2:at]
        key_id, batch_id, size, index, count = _FIXED.unpack_from(data, at)
    except (IndexError, struct.error) as exc:
        raise MalformedSealError("malformed seal: truncated") from exc
    at += _FIXED.size
    end = at + count * HASH_SIZE
    if len(data) != end + SIGNATURE_SIZE:
        raise MalformedSealError("malformed seal: wrong length")
    if not agency.isascii():
        raise MalformedSealError("malformed seal: agency id")
    proof = tuple(data[i : i + HASH_SIZE] for i in range(at, end, HASH_SIZE))
    return EventSeal(agency.decode("ascii"), key_id.hex(), batch_id, size, index, proof, data[end:])
