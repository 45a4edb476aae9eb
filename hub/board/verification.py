"""The latest audit verification, as the board shows it: the result of ``hub audit verify``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.audit import verify_topics
from hub.crypto import VerifyKey
from hub.errors import AuditError


@dataclass(frozen=True, slots=True)
class Verification:
    """Whether the ledger verified against its signed heads, and what that covered.

    ``outcome`` is ``verified``, ``failed`` (``error`` and ``detail`` say where) or
    ``not checked`` (no hub key to check with).
    """

    outcome: str
    checked_at: datetime
    entries: int = 0
    heads: int = 0
    signed_size: int = 0
    signed_root: str = ""
    unsealed: int = 0
    last_head_at: datetime | None = None
    error: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True only when the ledger verified."""
        return self.outcome == "verified"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "outcome": self.outcome,
            "checked_at": self.checked_at.isoformat(),
            "entries": self.entries,
            "heads": self.heads,
            "signed_size": self.signed_size,
            "signed_root": self.signed_root,
            "unsealed": self.unsealed,
            "last_head_at": self.last_head_at.isoformat() if self.last_head_at else None,
            "error": self.error,
            "detail": self.detail,
        }


def verify(
    topics: tuple[Iterable[bytes], Sequence[bytes]],
    keys: Sequence[VerifyKey],
    now: datetime,
    decisions_topic: str,
) -> Verification:
    """Verify the whole ledger from the start (:func:`hub.audit.verify_topics`).

    ``topics`` is (decisions records, heads). Forged heads or records that are not the hub's
    fail the verification, as ``hub audit verify`` fails.
    """
    if not keys:
        return Verification("not checked", now, detail="no hub verify key available")
    decisions, heads = topics
    try:
        result = verify_topics(decisions, heads, keys, decisions_topic)
    except AuditError as exc:
        return Verification("failed", now, error=type(exc).__name__, detail=str(exc))
    if not result.ok:
        detail = (
            f"{len(result.forged_heads)} forged heads, "
            f"{len(result.uncovered)} decisions-topic records not the hub's"
        )
        return Verification("failed", now, error="ForgedRecordsFound", detail=detail)
    last = result.last_head_at
    return Verification(
        "verified",
        now,
        entries=result.entries,
        heads=result.heads,
        signed_size=result.signed.size,
        signed_root=result.signed.root.hex(),
        unsealed=result.unsealed,
        last_head_at=last,
    )
