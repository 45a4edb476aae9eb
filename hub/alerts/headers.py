"""The clear-text headers of an alert record and the bytes the hub's signature covers.

Headers follow the CloudEvents Kafka protocol binding (binary mode): ``ce_specversion``,
``ce_id``, ``ce_type``, ``ce_source``, ``ce_time`` and ``content-type``, plus the hub's own
``vru-*`` headers. All of them are non-sensitive metadata: ids, a sequence number, times and
key ids. Never a pseudonym, an agency name or a rule.

**Signed namespace.** Every header whose name starts with ``ce_`` or ``vru-``, or is
``content-type``, is signed, except ``vru-signature`` itself. Headers outside the namespace
(tracing added by a proxy, say) are ignored and never read; a header inside it that appears
twice makes the record malformed, so a repeated ``vru-seq`` cannot smuggle a second value.

**Signature input** (``signed_message``), all lengths big-endian::

    "vru-hub/alert-record/v1" 0x00
    u32 len(key) ‖ key
    u16 count ‖ (u16 len(name) ‖ name ‖ u32 len(value) ‖ value) for each signed header, by name
    u32 len(value) ‖ value

The domain tag keeps these signatures apart from every other thing the hub's key signs (tree
heads, for one); the length prefixes make the encoding injective.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hub.errors import MalformedAlertError

SIGNATURE_DOMAIN = b"vru-hub/alert-record/v1\x00"
SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/vnd.vru-hub.sealed-alert.v1"
TYPE_PREFIX = "vru."
HEARTBEAT_TYPE = "vru.heartbeat"

CE_SPECVERSION = "ce_specversion"
CE_ID = "ce_id"
CE_TYPE = "ce_type"
CE_SOURCE = "ce_source"
CE_TIME = "ce_time"
CONTENT_TYPE_HEADER = "content-type"
SEQ = "vru-seq"
LAST_SEQ = "vru-last-seq"
PARTNERSHIP = "vru-partnership"
RECIPIENT_KEY = "vru-recipient-key"
HUB_KEY = "vru-hub-key"
SIGNATURE = "vru-signature"

_SEQ = re.compile(r"0|[1-9][0-9]{0,18}")
#: Sequence numbers fit a signed 64-bit integer, as Kafka offsets do.
MAX_SEQ = 2**63 - 1
Headers = Sequence[tuple[str, bytes]]


def source_of(partnership_id: str) -> str:
    """The CloudEvents ``source`` of a partnership's alert stream (a URI reference)."""
    return f"/vru-hub/alerts/{partnership_id}"


def is_signed(name: str) -> bool:
    """Whether a header is in the signed namespace (``vru-signature`` is not)."""
    signed = name.startswith(("ce_", "vru-")) or name == CONTENT_TYPE_HEADER
    return signed and name != SIGNATURE


def signed_message(key: bytes, headers: Headers, value: bytes) -> bytes:
    """The exact bytes the hub signs for a record: domain, key, signed headers, value."""
    signed = sorted((n, v) for n, v in headers if is_signed(n))
    parts = [SIGNATURE_DOMAIN, _u32(key), len(signed).to_bytes(2, "big")]
    for name, header_value in signed:
        encoded = name.encode()
        parts += [len(encoded).to_bytes(2, "big"), encoded, _u32(header_value)]
    parts.append(_u32(value))
    return b"".join(parts)


def _u32(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


@dataclass(frozen=True, slots=True)
class RecordMeta:
    """The signed headers of one record, parsed. Trust it only after the signature checks."""

    id: str
    type: str
    source: str
    time: str
    partnership: str
    hub_key: str
    signature: bytes
    seq: int | None
    last_seq: int | None
    recipient_key: str | None

    @property
    def is_heartbeat(self) -> bool:
        """Whether the record is a heartbeat rather than an alert."""
        return self.type == HEARTBEAT_TYPE


def parse_meta(headers: Headers) -> RecordMeta:
    """The hub's headers of a record; MalformedAlertError if one is missing or repeated."""
    found = _text_headers(headers)
    if found.get(CE_SPECVERSION) != SPEC_VERSION:
        raise MalformedAlertError("ce_specversion: not 1.0")
    seq, last_seq = found.get(SEQ), found.get(LAST_SEQ)
    return RecordMeta(
        id=_required(found, CE_ID),
        type=_required(found, CE_TYPE),
        source=_required(found, CE_SOURCE),
        time=_required(found, CE_TIME),
        partnership=_required(found, PARTNERSHIP),
        hub_key=_required(found, HUB_KEY),
        signature=_signature(_required(found, SIGNATURE)),
        seq=None if seq is None else parse_seq(seq),
        last_seq=None if last_seq is None else parse_seq(last_seq),
        recipient_key=found.get(RECIPIENT_KEY),
    )


def parse_seq(text: str) -> int:
    """A decimal sequence number without sign or leading zeros."""
    if _SEQ.fullmatch(text) is None or int(text) > MAX_SEQ:
        raise MalformedAlertError("sequence number: not a plain decimal below 2**63")
    return int(text)


def _text_headers(headers: Headers) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers:
        if not (is_signed(name) or name == SIGNATURE):
            continue
        if name in found:
            raise MalformedAlertError(f"header {name} appears more than once")
        try:
            found[name] = value.decode("ascii")
        except UnicodeDecodeError as exc:
            raise MalformedAlertError(f"header {name} is not ASCII") from exc
    return found


def _required(found: dict[str, str], name: str) -> str:
    if name not in found:
        raise MalformedAlertError(f"header {name} is missing")
    return found[name]


def _signature(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise MalformedAlertError("vru-signature: not base64") from exc


def encode_signature(signature: bytes) -> bytes:
    """The ``vru-signature`` header value: standard base64 of the 64-byte signature."""
    return base64.b64encode(signature)
