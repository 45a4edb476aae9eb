"""Text from an agency's export to the Python value an Avro field wants.

Errors name the target field and the rule, never the value (the value may be an identifier).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from hub.errors import ValidationError

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


def is_empty(raw: Any) -> bool:
    """A missing cell: None, or text that is only whitespace."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def to_timestamp(name: str, raw: Any, fmt: str | None, zone: tzinfo) -> datetime:
    """An aware UTC datetime; naive text is read in ``zone`` (the mapping's time zone)."""
    if isinstance(raw, datetime):
        parsed = raw
    elif isinstance(raw, str):
        parsed = _parse(name, raw.strip(), fmt, "a date and time")
    else:
        raise ValidationError(f"{name}: not a date and time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def to_date(name: str, raw: Any, fmt: str | None) -> date:
    """A calendar date from ISO text or ``fmt``."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if not isinstance(raw, str):
        raise ValidationError(f"{name}: not a date")
    return _parse(name, raw.strip(), fmt, "a date").date()


def _parse(name: str, text: str, fmt: str | None, what: str) -> datetime:
    try:
        # Naive on purpose: the caller attaches the mapping's time zone.
        return datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)  # noqa: DTZ007
    except ValueError:
        raise ValidationError(f"{name}: not {what} in the expected format") from None


def to_value(name: str, avro_type: Any, raw: Any, fmt: str | None, zone: tzinfo) -> Any:
    """``raw`` converted for ``avro_type``; empty cells become None for nullable fields."""
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        if is_empty(raw) and "null" in avro_type:
            return None
        return to_value(name, branches[0], raw, fmt, zone) if branches else None
    if is_empty(raw):
        raise ValidationError(f"{name}: is required")
    if isinstance(avro_type, Mapping):
        return _complex(name, avro_type, raw, fmt, zone)
    return _primitive(name, str(avro_type), raw)


def _complex(
    name: str, avro_type: Mapping[str, Any], raw: Any, fmt: str | None, zone: tzinfo
) -> Any:
    logical = avro_type.get("logicalType")
    if logical in ("timestamp-millis", "timestamp-micros"):
        return to_timestamp(name, raw, fmt, zone)
    if logical == "date":
        return to_date(name, raw, fmt)
    kind = avro_type["type"]
    if kind == "enum":
        return str(raw).strip()
    if kind == "array":
        parts = raw if isinstance(raw, list) else [p for p in str(raw).split(";") if p.strip()]
        return [to_value(name, avro_type["items"], p, fmt, zone) for p in parts]
    if isinstance(kind, str) and kind not in ("record", "map", "fixed"):
        return _primitive(name, kind, raw)
    return raw


def _primitive(name: str, kind: str, raw: Any) -> Any:
    try:
        if kind in ("int", "long"):
            return _integer(raw)
        if kind in ("float", "double"):
            return float(raw)
        if kind == "boolean":
            return _boolean(raw)
    except (TypeError, ValueError):
        raise ValidationError(f"{name}: not a valid {kind}") from None
    return raw.strip() if isinstance(raw, str) else raw


def _integer(raw: Any) -> int:
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise TypeError
    return int(raw.strip()) if isinstance(raw, str) else int(raw)


def _boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError
