"""Quarantine records: every rejected input, with its bytes, origin and a reason code.

Reason codes are a closed list (``docs/topics.md``); a consumer can redrive a record by
sending ``original`` back to ``source.topic`` with its original ``key`` and ``headers`` (the
``vru-seal`` header among them), as ``hub quarantine redrive`` does. Records written before
``key_b64``/``headers`` existed parse with neither.

An input whose bytes, key and headers together exceed :data:`MAX_KEPT_BYTES` is recorded
without them (``original_omitted``), with its size and SHA-256: kept whole, its base64 would
make a quarantine record larger than the producer's request limit (1 MB), the send would fail
and the input would be lost from quarantine (``docs/reliability.md``). Its bytes stay at
``source`` on the feed topic for as long as the feed's retention keeps them.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from hub.errors import HubError

#: Inputs larger than this (value, key and headers) are quarantined without their bytes.
MAX_KEPT_BYTES = 256 * 1024

#: Every reason a record can be quarantined for.
REASONS = frozenset(
    {
        "decode_error",
        "unknown_schema",
        "bad_signature",
        "unknown_key",
        "key_expired",
        "key_not_yet_valid",
        "unknown_agency",
        "agency_mismatch",
        "invalid_field",
        "event_in_future",
        "event_too_old",
        "duplicate_event",
        "unknown_area",
        "internal_error",
    }
)


class SourceRef(BaseModel):
    """Where a message was read from: a feed record's position, and an event's index in it.

    ``index`` is set for one event of a batch record (``hub.crypto.batchrecord``): the record
    is at ``topic``/``partition``/``offset`` and the event is its ``index``-th (from 0). It is
    None for a single-event record and for a batch record quarantined as one.
    """

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int
    index: int | None = None

    @property
    def position(self) -> str:
        """``topic:partition:offset``, with ``:index`` for an event of a batch record."""
        at = f"{self.topic}:{self.partition}:{self.offset}"
        return at if self.index is None else f"{at}:{self.index}"


class QuarantineRecord(BaseModel):
    """A rejected input: what, from where, and why (never the decoded content)."""

    model_config = ConfigDict(frozen=True)

    reason: str
    error: str
    detail: str
    source: SourceRef
    quarantined_at: datetime
    original_b64: str
    key_b64: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    """The original Kafka headers, each ``(name, base64 value)``."""
    original_omitted: bool = False
    """True when the input was too large to keep: ``original`` is then empty."""
    original_size: int | None = None
    """Length of the rejected value (None in records written before it existed)."""
    original_sha256: str | None = None

    @property
    def original(self) -> bytes:
        """The exact bytes that were rejected."""
        return base64.b64decode(self.original_b64)

    @property
    def key(self) -> bytes | None:
        """The original Kafka key, if it was kept."""
        return None if self.key_b64 is None else base64.b64decode(self.key_b64)

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        """The original Kafka headers, decoded."""
        return [(name, base64.b64decode(value)) for name, value in self.headers]

    def to_bytes(self) -> bytes:
        """JSON, for the quarantine topic."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> QuarantineRecord:
        """Parse a record read from the quarantine topic."""
        return cls.model_validate_json(data)


def quarantine(
    raw: bytes,
    source: SourceRef,
    error: HubError,
    *,
    key: bytes | None = None,
    headers: Sequence[tuple[str, bytes]] = (),
) -> QuarantineRecord:
    """Build the quarantine record for ``raw`` rejected with ``error`` (key and headers kept)."""
    reason = error.reason if error.reason in REASONS else "internal_error"
    digest = hashlib.sha256(raw).hexdigest()
    original_size = len(raw)
    omitted = original_size + len(key or b"") + sum(len(v) for _, v in headers) > MAX_KEPT_BYTES
    if omitted:
        raw, key, headers = b"", None, ()
    return QuarantineRecord(
        reason=reason,
        error=type(error).__name__,
        detail=str(error)[:500],
        source=source,
        quarantined_at=datetime.now(UTC),
        original_b64=base64.b64encode(raw).decode(),
        key_b64=None if key is None else base64.b64encode(key).decode(),
        headers=tuple((name, base64.b64encode(value).decode()) for name, value in headers),
        original_omitted=omitted,
        original_size=original_size,
        original_sha256=digest,
    )
