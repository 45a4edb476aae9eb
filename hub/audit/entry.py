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

import orjson

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
    The bytes are those of :func:`canonical_json` over ``json.loads`` (:func:`_canonical`).
    """
    fast = _canonical(value)
    if fast is not None:
        raw, data = fast
    else:
        try:
            raw = json.loads(value)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LedgerEntryError(index, None, "not a JSON decision record") from exc
        data = b""
    decision_id = raw.get("decision_id") if isinstance(raw, dict) else None
    if not isinstance(decision_id, str) or not decision_id:
        raise LedgerEntryError(index, None, "record has no decision_id")
    if not data:
        # A lone surrogate escape: JSON reads it, but UTF-8 cannot hold it.
        try:
            data = canonical_json(raw)
        except UnicodeEncodeError as exc:
            raise LedgerEntryError(index, decision_id, "text that is not UTF-8") from exc
    return Entry(decision_id, data, hash_leaf(data))


def _canonical(value: bytes) -> tuple[dict[str, Any], bytes] | None:
    """A record's object and :func:`canonical_json` bytes, read and written by orjson, when
    that gives the same bytes as the json module; None when it may not (then the caller
    takes the json module's path, whose result or error stands).

    orjson reads what it accepts (strict UTF-8 JSON, integers of 64 bits) into the objects
    ``json.loads`` makes of it, and writes sorted keys, compact separators and raw UTF-8 as
    :func:`canonical_json` does, but for floats (another exponent notation): so a value that
    orjson does not read, is not an object, or holds a float takes the json path.
    ``tests/unit/audit/test_ledger.py`` compares both on every record of a history and on
    odd values (escapes, key order beyond the BMP, repeated keys, big numbers).
    """
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if type(raw) is not dict or _holds_float(raw):
        return None
    return raw, orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)


def _holds_float(value: dict[str, Any]) -> bool:
    """Whether a parsed JSON object holds a float anywhere."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            return True
    return False
