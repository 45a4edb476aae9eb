"""Reading ledger entries without the replayer's lanes, and naming how two records differ
(split from :mod:`hub.audit.replay`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError as PydanticValidationError

from hub.audit.mismatch import Mismatch
from hub.dispatch import DecisionRecord
from hub.dsa import Decision
from hub.models.accepted import Located
from hub.sna import is_release_record


def explain_event(located: Located, decision: Decision) -> dict[str, Any]:
    return {
        "event_id": located.event.event_id,
        "event_type": located.event.event_type,
        "agency": located.event.envelope.agency_id,
        "outcome": str(decision.outcome),
        "agreement": f"{decision.agreement_id}@{decision.agreement_version}"
        if decision.permitted
        else None,
        "reasons": [str(r) for r in decision.reasons],
        "failed_clauses": [
            f"{c.agreement}:{c.clause}: {c.detail}"
            for c in decision.clauses
            if c.effect == "failed"
        ],
    }


def release_of(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The release record an entry's JSON is, or None when it is a decision."""
    return raw if is_release_record(raw) and isinstance(raw.get("decision_id"), str) else None


def parsed(value: bytes) -> dict[str, Any] | None:
    """The entry's JSON object, or None when it is not one."""
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return raw if isinstance(raw, dict) else None


def time_of(value: object) -> datetime | None:
    """A recorded time read without the model (None when it needs the model to read it)."""
    if type(value) is not str:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def validated(value: bytes) -> DecisionRecord | None:
    """The entry validated as a record, or None when it is not one."""
    try:
        return DecisionRecord.model_validate_json(value)
    except PydanticValidationError:
        return None


def id_of(value: bytes) -> str:
    """The decision id of an unreadable record, if it has one."""
    try:
        raw = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    return str(raw.get("decision_id", "")) if isinstance(raw, dict) else ""


def differences(recorded: DecisionRecord, derived: DecisionRecord) -> list[Mismatch]:
    """Every field that differs between two records (per event decision for ``decisions``)."""
    left, right = recorded.model_dump(mode="json"), derived.model_dump(mode="json")
    found = []
    for name in sorted(left.keys() | right.keys()):
        if name == "decisions":
            found += _decision_differences(recorded.decision_id, left[name], right[name])
        elif left.get(name) != right.get(name):
            found.append(Mismatch(recorded.decision_id, name, left.get(name), right.get(name)))
    return found


def _decision_differences(
    decision_id: str, left: list[dict[str, Any]], right: list[dict[str, Any]]
) -> list[Mismatch]:
    if len(left) != len(right):
        return [Mismatch(decision_id, "decisions", len(left), len(right))]
    return [
        Mismatch(decision_id, f"decisions[{n}].{name}", one.get(name), other.get(name))
        for n, (one, other) in enumerate(zip(left, right, strict=True))
        for name in sorted(one.keys() | other.keys())
        if one.get(name) != other.get(name)
    ]
