"""The plaintext of one alert: what a partnership learns about a flag, and nothing more.

The dispatcher builds an :class:`AlertBody` from a flag already minimised to what the
partnership may see; this module only fixes its shape and its bytes. The JSON is
deterministic (sorted keys, no spaces, UTC times with a ``Z``), so the same body always seals
the same plaintext. The subject is the partnership's own pseudonym (``ps1:...``); the body names
the agencies to ask instead of carrying anything that re-identifies the young person.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from hub.errors import DecodeError, ValidationError
from hub.pseudonym import parse_token

BODY_FORMAT = "vru-alert/v1"
Scalar = str | int | float | bool | None
_AGREEMENT = re.compile(r"[a-z0-9][a-z0-9._-]*@[0-9][0-9A-Za-z.-]*")
_WORD = re.compile(r"[a-z][a-z0-9_-]*")
_AREA = re.compile(r"area:[EW]0[0-9]{7}")


class AlertKind(StrEnum):
    """What happened to the flag; the CloudEvents type is ``vru.`` + this value."""

    RAISED = "flag.raised"
    UPDATED = "flag.updated"
    RETRACTED = "flag.retracted"
    EXPIRED = "flag.expired"
    AREA_RAISED = "area.raised"
    """A place-based alert (``hub.hotspot``): its subject is an area (``area:<LSOA>``)."""


@dataclass(frozen=True, slots=True)
class RuleRef:
    """The correlation rule that produced the flag, in plain language: no opaque score."""

    id: str
    version: int
    title: str
    explanation: str


@dataclass(frozen=True, slots=True)
class ContributingEvent:
    """One event behind the flag, as the partnership may see it: type, agency, date, fields."""

    type: str
    agency: str
    date: date
    fields: Mapping[str, Scalar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(sorted(self.fields.items()))))

    def to_json(self) -> dict[str, Any]:
        """The event as JSON-ready data."""
        return {
            "type": self.type,
            "agency": self.agency,
            "date": self.date.isoformat(),
            "fields": dict(self.fields),
        }


@dataclass(frozen=True, slots=True)
class AlertBody:
    """Everything one alert tells one partnership. Its repr hides the subject pseudonym."""

    alert_id: str
    kind: AlertKind
    flag_id: str
    rule: RuleRef
    severity: str
    subject: str = field(repr=False)
    window_start: date
    window_end: date
    events: tuple[ContributingEvent, ...]
    ask: tuple[str, ...]
    agreements: tuple[str, ...]
    decided_at: datetime

    def __post_init__(self) -> None:
        if self.kind is AlertKind.AREA_RAISED:
            if _AREA.fullmatch(self.subject) is None:
                raise ValidationError("subject: an area alert names an area (area:<LSOA>)")
        else:
            _check_subject(self.subject)
        if _WORD.fullmatch(self.severity) is None:
            raise ValidationError("severity: not a lowercase word")
        if self.window_end < self.window_start:
            raise ValidationError("window: ends before it starts")
        if self.decided_at.tzinfo is None:
            raise ValidationError("decided_at: must be timezone-aware")
        if any(_AGREEMENT.fullmatch(a) is None for a in self.agreements):
            raise ValidationError("agreements: each must be written id@version")
        object.__setattr__(self, "decided_at", datetime.fromisoformat(utc_text(self.decided_at)))
        object.__setattr__(self, "ask", tuple(sorted(set(self.ask))))
        object.__setattr__(self, "agreements", tuple(sorted(set(self.agreements))))

    def to_bytes(self) -> bytes:
        """Deterministic JSON: the plaintext that is sealed to the partnership."""
        return canonical_json(self._document())

    def _document(self) -> dict[str, Any]:
        return {
            "format": BODY_FORMAT,
            "alert_id": self.alert_id,
            "kind": self.kind.value,
            "flag_id": self.flag_id,
            "rule": {
                "id": self.rule.id,
                "version": self.rule.version,
                "title": self.rule.title,
                "explanation": self.rule.explanation,
            },
            "severity": self.severity,
            "subject": self.subject,
            "window": {"start": self.window_start.isoformat(), "end": self.window_end.isoformat()},
            "events": [e.to_json() for e in self.events],
            "ask": list(self.ask),
            "agreements": list(self.agreements),
            "decided_at": utc_text(self.decided_at),
        }

    def to_json(self) -> dict[str, Any]:
        """The body as JSON-ready data, for a partnership's own display or storage."""
        return self._document()

    @classmethod
    def from_bytes(cls, data: bytes) -> AlertBody:
        """Parse an opened alert's plaintext; DecodeError if it is not a v1 body."""
        try:
            doc = json.loads(data)
            if doc["format"] != BODY_FORMAT:
                raise DecodeError("alert body: unknown format")
            return _from_document(doc)
        except (ValueError, KeyError, TypeError) as exc:
            raise DecodeError(f"alert body does not parse ({type(exc).__name__})") from exc


def _check_subject(subject: str) -> None:
    if parse_token(subject).prefix != "ps1":
        raise ValidationError("subject: must be a partnership pseudonym (ps1)")


def _from_document(doc: dict[str, Any]) -> AlertBody:
    rule, window = doc["rule"], doc["window"]
    return AlertBody(
        alert_id=doc["alert_id"],
        kind=AlertKind(doc["kind"]),
        flag_id=doc["flag_id"],
        rule=RuleRef(rule["id"], int(rule["version"]), rule["title"], rule["explanation"]),
        severity=doc["severity"],
        subject=doc["subject"],
        window_start=date.fromisoformat(window["start"]),
        window_end=date.fromisoformat(window["end"]),
        events=tuple(
            ContributingEvent(e["type"], e["agency"], date.fromisoformat(e["date"]), e["fields"])
            for e in doc["events"]
        ),
        ask=tuple(doc["ask"]),
        agreements=tuple(doc["agreements"]),
        decided_at=datetime.fromisoformat(doc["decided_at"]),
    )


def canonical_json(doc: Mapping[str, Any]) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: the same data gives the same bytes."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def utc_text(at: datetime) -> str:
    """An aware time as RFC 3339 in UTC with millisecond precision and a ``Z``."""
    if at.tzinfo is None:
        raise ValidationError("time: must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
