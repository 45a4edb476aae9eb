"""Quarantine records: every rejected input, with its bytes, origin and a reason code.

Reason codes are a closed list (``docs/topics.md``); a consumer can redrive a record by
sending ``original`` back to ``source.topic`` with its original ``key`` and ``headers`` (the
``vru-seal`` header among them), as ``hub quarantine redrive`` does. Records written before
``key_b64``/``headers`` existed parse with neither.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from hub.errors import HubError

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
        "duplicate_event",
        "unknown_area",
        "internal_error",
    }
)


class SourceRef(BaseModel):
    """Where a message was read from."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int
    offset: int


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
    return QuarantineRecord(
        reason=reason,
        error=type(error).__name__,
        detail=str(error)[:500],
        source=source,
        quarantined_at=datetime.now(UTC),
        original_b64=base64.b64encode(raw).decode(),
        key_b64=None if key is None else base64.b64encode(key).decode(),
        headers=tuple((name, base64.b64encode(value).decode()) for name, value in headers),
    )
