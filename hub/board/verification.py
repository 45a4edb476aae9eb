"""The latest audit verification, as the board shows it: the result of ``hub audit verify``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.audit import decode_head, verify_ledger
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
    decisions: Iterable[bytes], heads: Sequence[bytes], keys: Sequence[VerifyKey], now: datetime
) -> Verification:
    """Verify the whole ledger from the start (:func:`hub.audit.verify_ledger`)."""
    if not keys:
        return Verification("not checked", now, detail="no hub verify key available")
    try:
        result = verify_ledger(decisions, heads, keys)
    except AuditError as exc:
        return Verification("failed", now, error=type(exc).__name__, detail=str(exc))
    last = decode_head(heads[-1], len(heads) - 1).timestamp if heads else None
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
