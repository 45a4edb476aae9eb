"""What the rule checker needs to know about event types, read from the schema store.

For each type: whether it has a subject, and for each type-specific field its kind (enum,
integer, boolean, string, array of enum, or something a rule may not test) with its enum
symbols. Envelope fields are not listed: rules test age through ``conditions.age``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from hub.codec import SchemaStore

Kind = Literal["enum", "int", "boolean", "string", "array", "other"]


class FieldSpec(BaseModel):
    """One type-specific field as far as rule conditions care."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    nullable: bool = False
    symbols: frozenset[str] = frozenset()


class TypeSpec(BaseModel):
    """One event type: whether it names a person, and its testable fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    has_subject: bool
    fields: Mapping[str, FieldSpec]


RuleCatalog = Mapping[str, TypeSpec]


def catalog_from_store(store: SchemaStore) -> RuleCatalog:
    """Every event type of the store, at its current version."""
    return {t: _type_spec(store, t) for t in sorted(store.event_types)}


def _type_spec(store: SchemaStore, event_type: str) -> TypeSpec:
    schema = store.schema(event_type)
    fields = {
        f["name"]: _field_spec(f["type"]) for f in schema["fields"] if f["name"] != "envelope"
    }
    return TypeSpec(has_subject=store.subject_rule(event_type) == "required", fields=fields)


def _field_spec(avro_type: Any) -> FieldSpec:
    if isinstance(avro_type, list):
        branches = [b for b in avro_type if b != "null"]
        inner = _field_spec(branches[0]) if len(branches) == 1 else FieldSpec(kind="other")
        return inner.model_copy(update={"nullable": "null" in avro_type})
    if isinstance(avro_type, str):
        return FieldSpec(kind=_PRIMITIVES.get(avro_type, "other"))
    if "logicalType" in avro_type:
        return FieldSpec(kind="other")  # timestamps: rules order events by occurred_at only
    kind = avro_type.get("type")
    if kind == "enum":
        return FieldSpec(kind="enum", symbols=frozenset(avro_type["symbols"]))
    if kind == "array":
        items = _field_spec(avro_type["items"])
        return FieldSpec(kind="array", symbols=items.symbols)
    return (
        _field_spec(kind)
        if isinstance(kind, str) and kind in _PRIMITIVES
        else FieldSpec(kind="other")
    )


_PRIMITIVES: dict[str, Kind] = {
    "int": "int",
    "long": "int",
    "boolean": "boolean",
    "string": "string",
}
