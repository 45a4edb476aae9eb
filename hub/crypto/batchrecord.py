"""A sealed agency batch as one feed record: one Kafka record, one signature, many events.

An agency that sends a batch of N events as N single-event records makes the hub pay the
stream framework's per-record cost N times. A batch record carries the whole sealed batch::

    "VRB1" ‖ u8 n ‖ agency id (n bytes, ASCII) ‖ key id (8 bytes) ‖ batch id (16 bytes)
    ‖ u32 count ‖ (u32 len ‖ event) for each event ‖ signature (64 bytes)

big-endian, where each event is the Avro single-object encoding of one event and the
signature is the agency's Ed25519 signature over the same batch statement as a single-event
seal's (:func:`hub.crypto.batch.batch_statement`, with ``size = count`` and the RFC 9162 root
of the events as leaves). The hub recomputes the root from every leaf and verifies once per
record. Each event's :class:`~hub.crypto.sealcodec.EventSeal` (index, inclusion proof,
signature) stays derivable from the record (:func:`event_seals`), so one event can still be
proved offline, or quarantined and redriven alone as a single-event record.

The magic cannot start an Avro single-object message (``0xC3 0x01``), so a reader tells the
two kinds of feed record apart by their first bytes (:func:`is_batch_record`). Parsing any
other bytes raises :class:`~hub.errors.MalformedBatchError` and nothing else.
"""

from __future__ import annotations

import re
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from hub.crypto.batch import BatchHead, batch_statement
from hub.crypto.sealcodec import BATCH_ID_SIZE, KEY_ID_SIZE, EventSeal
from hub.crypto.signing import SIGNATURE_SIZE, SigningKey
from hub.errors import MalformedBatchError
from hub.merkle import MerkleTree, hash_leaves

MAGIC = b"VRB1"
#: Events one batch record may carry (the SDK sends 256; a Kafka record is at most ~1 MB).
MAX_RECORD_EVENTS = 4096
_AGENCY = re.compile(rb"[a-z0-9][a-z0-9-]{0,63}")
_FIXED = struct.Struct(f">{KEY_ID_SIZE}s{BATCH_ID_SIZE}sI")  # key id, batch id, count
_LEN = struct.Struct(">I")

__all__ = [
    "MAGIC",
    "MAX_RECORD_EVENTS",
    "BatchRecord",
    "encode_batch_record",
    "event_seals",
    "is_batch_record",
    "parse_batch_record",
]


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One parsed batch record. Trust it only once its head verified (``SealVerifier``)."""

    agency_id: str
    key_id: str
    batch_id: bytes
    events: tuple[bytes, ...] = field(repr=False)
    signature: bytes = field(repr=False)

    def tree(self) -> MerkleTree:
        """The Merkle tree of the record's events (leaves in order)."""
        return MerkleTree(hash_leaves(self.events))

    def head(self, tree: MerkleTree | None = None) -> BatchHead:
        """The batch head the signature must cover, its root recomputed from every event."""
        root = (tree or self.tree()).root()
        return BatchHead(self.agency_id, self.key_id, self.batch_id, len(self.events), root)

    def to_bytes(self) -> bytes:
        """The record's wire form (see the module docstring)."""
        agency = self.agency_id.encode("ascii")
        parts = [MAGIC, bytes((len(agency),)), agency]
        parts.append(_FIXED.pack(bytes.fromhex(self.key_id), self.batch_id, len(self.events)))
        for event in self.events:
            parts += [_LEN.pack(len(event)), event]
        parts.append(self.signature)
        return b"".join(parts)


def is_batch_record(data: bytes) -> bool:
    """True when ``data`` claims to be a batch record (it may still fail to parse)."""
    return data[: len(MAGIC)] == MAGIC


def encode_batch_record(
    events: Sequence[bytes], key: SigningKey, agency_id: str, batch_id: bytes | None = None
) -> bytes:
    """Seal ``events`` as one batch and return the batch record's bytes."""
    if not 0 < len(events) <= MAX_RECORD_EVENTS:
        raise ValueError(f"a batch record holds 1 to {MAX_RECORD_EVENTS} events")
    batch_id = secrets.token_bytes(BATCH_ID_SIZE) if batch_id is None else batch_id
    unsigned = BatchRecord(agency_id, key.key_id, batch_id, tuple(events), b"")
    signature = key.sign(batch_statement(unsigned.head()))
    return BatchRecord(agency_id, key.key_id, batch_id, tuple(events), signature).to_bytes()


def event_seals(record: BatchRecord, tree: MerkleTree | None = None) -> list[EventSeal]:
    """Each event's single-event seal, as ``seal_batch`` would have made it, in order."""
    tree = tree or record.tree()
    size = len(record.events)
    return [
        EventSeal(
            record.agency_id,
            record.key_id,
            record.batch_id,
            size,
            index,
            tree.inclusion_proof(index),
            record.signature,
        )
        for index in range(size)
    ]


def parse_batch_record(data: bytes) -> BatchRecord:
    """Split a batch record into its parts; :class:`MalformedBatchError` if it is not one."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedBatchError("not bytes", 0)
    view = memoryview(data)
    if not is_batch_record(bytes(view[: len(MAGIC)])):
        raise MalformedBatchError("magic", 0)
    at = len(MAGIC) + 1
    if len(view) < at:
        raise MalformedBatchError("truncated agency id", len(view))
    agency = bytes(view[at : at + view[at - 1]])
    if len(agency) != view[at - 1] or _AGENCY.fullmatch(agency) is None:
        raise MalformedBatchError("agency id", at)
    at += len(agency)
    if len(view) < at + _FIXED.size:
        raise MalformedBatchError("truncated head", at)
    key_id, batch_id, count = _FIXED.unpack_from(view, at)
    at += _FIXED.size
    if not 0 < count <= MAX_RECORD_EVENTS:
        raise MalformedBatchError("event count", at)
    events, at = _events(data if type(data) is bytes else bytes(view), at, count)
    if len(view) - at != SIGNATURE_SIZE:
        raise MalformedBatchError("signature length", at)
    return BatchRecord(agency.decode("ascii"), key_id.hex(), batch_id, events, bytes(view[at:]))


def _events(data: bytes, at: int, count: int) -> tuple[tuple[bytes, ...], int]:
    """``count`` length-prefixed events from ``at``, and the offset after them (each event a
    slice of the record's bytes: one copy, not a memoryview slice and then its bytes)."""
    events = []
    size = len(data)
    for _ in range(count):
        if size < at + _LEN.size:
            raise MalformedBatchError("truncated event length", at)
        (length,) = _LEN.unpack_from(data, at)
        at += _LEN.size
        if size < at + length:
            raise MalformedBatchError("truncated event", at)
        events.append(data[at : at + length])
        at += length
    return tuple(events), at
