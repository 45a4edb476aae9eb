"""Field descriptions of an event type, for the agreements engine and the docs."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Sensitivity = Literal["normal", "special_category", "criminal_offence"]


class FieldInfo(BaseModel):
    """One field of an event type: its name, its Avro type in short form and its sensitivity.

    Envelope fields are listed as ``envelope.<name>``; type-specific fields by their name.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    avro_type: str
    sensitivity: Sensitivity = "normal"
    doc: str = ""


def describe_fields(schema: Mapping[str, Any]) -> Mapping[str, FieldInfo]:
    """Every field of an (envelope-inlined) event schema, envelope fields first."""
    found: dict[str, FieldInfo] = {}
    for field in schema["fields"]:
        if field["name"] == "envelope":
            for sub in field["type"]["fields"]:
                info = _info(sub, prefix="envelope.")
                found[info.name] = info
        else:
            info = _info(field, prefix="")
            found[info.name] = info
    return MappingProxyType(found)


def _info(field: Mapping[str, Any], prefix: str) -> FieldInfo:
    return FieldInfo(
        name=prefix + field["name"],
        avro_type=type_repr(field["type"]),
        sensitivity=field.get("sensitivity", "normal"),
        doc=field.get("doc", ""),
    )


def type_repr(avro_type: Any) -> str:
    """A short, readable Avro type: ``null | int``, ``enum Weapon``, ``array<string>``."""
    if isinstance(avro_type, str):
        return avro_type.rsplit(".", 1)[-1]
    if isinstance(avro_type, list):
        return " | ".join(type_repr(branch) for branch in avro_type)
    if "logicalType" in avro_type:
        return str(avro_type["logicalType"])
    kind = avro_type["type"]
    if kind in ("array", "map"):
        inner = avro_type["items" if kind == "array" else "values"]
        return f"{kind}<{type_repr(inner)}>"
    if kind in ("enum", "record", "fixed"):
        return f"{kind} {avro_type['name'].rsplit('.', 1)[-1]}"
    return type_repr(kind)
