"""Ledger entries: the canonical bytes of one decision record, and its leaf hash.

An entry is the decision record as the correlate agent wrote it to the decisions topic
(``DecisionRecord.model_dump_json()``), re-encoded as canonical JSON (sorted keys, no spaces,
UTF-8) so that the leaf does not depend on a serialiser's key order. The leaf hash is RFC 9162's
SHA-256(0x00 ‖ entry). Entries hold ids, versions, names and digests only (never a token).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hub.errors import LedgerEntryError
from hub.merkle import hash_leaf


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class Entry:
    """One decision record as a ledger leaf: its decision id, canonical bytes and leaf hash."""

    decision_id: str
    data: bytes = field(repr=False)
    leaf_hash: bytes = field(repr=False)

    @property
    def record(self) -> dict[str, Any]:
        """The decision record as JSON data."""
        parsed: dict[str, Any] = json.loads(self.data)
        return parsed


def entry_of(value: bytes, index: int) -> Entry:
    """The entry for one decisions-topic record that would become leaf ``index``.

    Raises :class:`LedgerEntryError` when the record is not a JSON object with a decision id.
    """
    try:
        raw = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LedgerEntryError(index, None, "not a JSON decision record") from exc
    decision_id = raw.get("decision_id") if isinstance(raw, dict) else None
    if not isinstance(decision_id, str) or not decision_id:
        raise LedgerEntryError(index, None, "record has no decision_id")
    data = canonical_json(raw)
    return Entry(decision_id, data, hash_leaf(data))
