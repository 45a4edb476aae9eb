"""The authenticated internal record: one format for every record the hub's own topics carry.

What a hub stage writes for another stage (accepted, outbox, decisions) and what information
governance writes (agreements, switch markers) is one record of this shape, authenticated
**once per record** whatever the number of items it carries (a batch of events, of decisions,
of alerts)::

    "VRI1" ‖ u8 len ‖ kind (ASCII) ‖ u64 at (ms since the epoch) ‖ key id (8 bytes)
    ‖ u32 count ‖ (u32 len ‖ item) for each item ‖ tag

All integers are big-endian. The *body* is everything before the tag. The tag is HMAC-SHA256
(32 bytes, the hub's internal key) or Ed25519 (64 bytes, the hub's or governance's signing
key) over::

    "vru-hub/internal-record/v1" 0x00 ‖ u16 len ‖ topic ‖ u32 partition ‖ body

so a record is bound to the topic and partition it was written to and is verified against
where it was read: a genuine record copied to another partition or topic does not verify.
``at`` is the record's time, authenticated with it: the decision time of what it carries (for
accepted records) or when it was written. A reader never uses the broker's record timestamp,
which any producer sets. The kind fixes the scheme and the key's owner (:data:`SCHEMES`), so a
record cannot be MACed where a signature is required. Parsing never raises anything but
:class:`~hub.errors.MalformedRecordError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from hub.errors import MalformedRecordError

MAGIC = b"VRI1"
DOMAIN = b"vru-hub/internal-record/v1\x00"
MAC_SIZE = 32
SIGNATURE_SIZE = 64
MAX_ITEMS = 1_000_000
_HEAD = struct.Struct(">Q8sI")  # at, key id, count
_LEN = struct.Struct(">I")
_PLACE = struct.Struct(">HI")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Kind(StrEnum):
    """What a record carries; each kind has one scheme and one key owner (:data:`SCHEMES`)."""

    EVENTS = "events"
    """Accepted events (Avro single-object bytes), by ingest, for correlation."""
    TICK = "tick"
    """A clock tick on an accepted partition (no items): time passes for flags."""
    SWITCH = "switch"
    """An agreement switch marker on an accepted partition (one item: the marker JSON)."""
    ALERTS = "alerts"
    """Encrypted alerts awaiting their number (outbox records), by correlation."""
    DECISIONS = "decisions"
    """Disclosure decision records, by correlation, for the ledger and auditors."""
    AGREEMENT = "agreement"
    """An agreement version publication (one item: its canonical JSON)."""
    SUSPENSION = "suspension"
    """A suspension or resumption of a party (one item: its canonical JSON)."""


class Scheme(StrEnum):
    """Who authenticates a kind, and how."""

    HUB_MAC = "hub-mac"
    """HMAC-SHA256 under the hub's internal key: read only by the hub's own workers."""
    HUB_SIGNATURE = "hub-signature"
    """Ed25519 by the hub's signing key: auditors verify with the public key alone."""
    GOVERNANCE_SIGNATURE = "governance-signature"
    """Ed25519 by information governance's signing key."""


SCHEMES: dict[Kind, Scheme] = {
    Kind.EVENTS: Scheme.HUB_MAC,
    Kind.TICK: Scheme.HUB_MAC,
    Kind.ALERTS: Scheme.HUB_MAC,
    Kind.SWITCH: Scheme.GOVERNANCE_SIGNATURE,
    Kind.AGREEMENT: Scheme.GOVERNANCE_SIGNATURE,
    Kind.SUSPENSION: Scheme.GOVERNANCE_SIGNATURE,
    Kind.DECISIONS: Scheme.HUB_SIGNATURE,
}


def tag_size(scheme: Scheme) -> int:
    """Bytes of the tag a scheme writes."""
    return MAC_SIZE if scheme is Scheme.HUB_MAC else SIGNATURE_SIZE


@dataclass(frozen=True, slots=True)
class Place:
    """Where a record is written, or was read: the binding its tag covers."""

    topic: str
    partition: int


def millis_of(at: datetime) -> int:
    """Milliseconds since the epoch of an aware time (the record's precision)."""
    if at.tzinfo is None:
        raise ValueError("a record time must be timezone-aware")
    return (at - EPOCH) // timedelta(milliseconds=1)


def moment_of(millis: int) -> datetime:
    """The exact time of ``millis`` (no float rounding): what every reader uses."""
    return EPOCH + timedelta(milliseconds=millis)


@dataclass(frozen=True, slots=True)
class InternalRecord:
    """One parsed record. Trust it only once a verifier returned it."""

    kind: Kind
    millis: int
    key_id: str
    items: tuple[bytes, ...] = field(repr=False)
    body: bytes = field(repr=False)
    tag: bytes = field(repr=False)

    @property
    def at(self) -> datetime:
        """The record's authenticated time."""
        return moment_of(self.millis)

    @property
    def scheme(self) -> Scheme:
        """How this kind is authenticated."""
        return SCHEMES[self.kind]


def encode_body(kind: Kind, at: datetime, key_id: str, items: tuple[bytes, ...]) -> bytes:
    """The record's bytes before its tag."""
    name = kind.value.encode("ascii")
    parts = [
        MAGIC,
        bytes((len(name),)),
        name,
        _HEAD.pack(millis_of(at), _key_bytes(key_id), len(items)),
    ]
    for item in items:
        parts += [_LEN.pack(len(item)), item]
    return b"".join(parts)


def statement(place: Place, body: bytes) -> bytes:
    """What the tag covers: the domain, the place and the body."""
    topic = place.topic.encode("utf-8")
    return DOMAIN + _PLACE.pack(len(topic), place.partition) + topic + body


def parse(data: bytes) -> InternalRecord:
    """Split a record into its parts; :class:`MalformedRecordError` if it is not one."""
    view = memoryview(data)
    if len(view) <= len(MAGIC) or view[: len(MAGIC)] != MAGIC:
        raise MalformedRecordError("not an internal record (magic)")
    size = view[4]
    kind = _kind(bytes(view[5 : 5 + size]))
    pos = 5 + size
    if len(view) < pos + _HEAD.size:
        raise MalformedRecordError("truncated header")
    millis, key, count = _HEAD.unpack_from(view, pos)
    pos += _HEAD.size
    if count > MAX_ITEMS:
        raise MalformedRecordError("too many items")
    items = []
    for _ in range(count):
        if len(view) < pos + _LEN.size:
            raise MalformedRecordError("truncated item")
        (length,) = _LEN.unpack_from(view, pos)
        pos += _LEN.size
        if len(view) < pos + length:
            raise MalformedRecordError("truncated item")
        items.append(bytes(view[pos : pos + length]))
        pos += length
    if len(view) - pos != tag_size(SCHEMES[kind]):
        raise MalformedRecordError("tag of the wrong size for its kind")
    return InternalRecord(
        kind, millis, key.hex(), tuple(items), bytes(view[:pos]), bytes(view[pos:])
    )


def _kind(name: bytes) -> Kind:
    try:
        return Kind(name.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedRecordError("unknown record kind") from exc


def _key_bytes(key_id: str) -> bytes:
    raw = bytes.fromhex(key_id)
    if len(raw) != 8:  # noqa: PLR2004  # key ids are 16 hex digits
        raise ValueError("a key id is 16 hex digits")
    return raw
