"""The schema catalog the checker compares agreements with: event type -> field -> info.

The checker takes any mapping of objects with ``name`` and ``sensitivity`` (the codec's
``FieldInfo`` fits), so it does not depend on the codec; :class:`CatalogField` is a plain
implementation for tests and tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from hub.dsa.vocabulary import Sensitivity


class FieldLike(Protocol):
    """What the checker reads from a schema field."""

    @property
    def name(self) -> str: ...

    @property
    def sensitivity(self) -> str: ...


Catalog = Mapping[str, Mapping[str, FieldLike]]


class CatalogField(BaseModel):
    """A schema field's name, Avro type and sensitivity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    avro_type: str = "string"
    sensitivity: Sensitivity = Sensitivity.NORMAL


def catalog_of(fields: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, CatalogField]]:
    """A catalog from ``{event_type: {field: sensitivity}}``."""
    return {
        event_type: {
            name: CatalogField(name=name, sensitivity=Sensitivity(value))
            for name, value in by_name.items()
        }
        for event_type, by_name in fields.items()
    }
