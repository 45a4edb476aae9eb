"""Synthetic type-specific fields for any event type, drawn from its Avro schema.

Used for agencies whose real feeds are not public (everyone but the police) and by the
benchmark. Values are valid by construction: enum symbols, small counts, flags, dates.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub.errors import ConfigError
from hub.models.rules import check_fields

_MAX_COUNT = 12
MAX_DRAWS = 200
NULL_SHARE = 0.3
DEFAULT_SHARE = 0.5
TRUE_SHARE = 0.3


def synth_valid_fields(
    event_type: str, schema: Mapping[str, Any], rng: random.Random, occurred_at: datetime
) -> dict[str, Any]:
    """Like :func:`synth_fields`, redrawn until the hub's field rules accept the values."""
    envelope = {"occurred_at": occurred_at, "event_type": event_type}
    for _ in range(MAX_DRAWS):
        fields = synth_fields(schema, rng, occurred_at)
        if check_fields(event_type, fields, envelope) is None:
            return fields
    raise ConfigError(f"cannot draw valid synthetic fields for {event_type}")


def synth_fields(
    schema: Mapping[str, Any], rng: random.Random, occurred_at: datetime
) -> dict[str, Any]:
    """Values for every field of ``schema`` except the envelope."""
    return {
        f["name"]: _value(f["type"], rng, occurred_at, f.get("default"))
        for f in schema["fields"]
        if f["name"] != "envelope"
    }


def _value(avro_type: Any, rng: random.Random, at: datetime, default: Any) -> Any:
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        if "null" in avro_type and (not branches or rng.random() < NULL_SHARE):
            return None
        return _value(branches[0], rng, at, None)
    if isinstance(avro_type, dict):
        return _complex(avro_type, rng, at)
    return _primitive(avro_type, rng, default)


def _complex(avro_type: Mapping[str, Any], rng: random.Random, at: datetime) -> Any:
    kind = avro_type["type"]
    if kind == "enum":
        return rng.choice(avro_type["symbols"])
    if avro_type.get("logicalType") in ("timestamp-millis", "timestamp-micros"):
        return at
    if avro_type.get("logicalType") == "date":
        return at.date()
    if kind == "array":
        return [_value(avro_type["items"], rng, at, None) for _ in range(rng.randint(0, 2))]
    if kind == "record":
        return synth_fields(avro_type, rng, at)
    return _primitive(kind, rng, None)


def _primitive(kind: str, rng: random.Random, default: Any) -> Any:
    if default is not None and rng.random() < DEFAULT_SHARE:
        return default
    if kind == "boolean":
        return rng.random() < TRUE_SHARE
    if kind in ("int", "long"):
        return rng.randint(1, _MAX_COUNT)
    if kind in ("float", "double"):
        return round(rng.uniform(0, 10), 2)
    if kind == "string":
        return f"S{rng.randint(100, 999)}"
    return None
