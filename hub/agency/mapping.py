"""Mapping files: which column of an agency's export becomes which identifier or event field.

A mapping (YAML, ``format: vru-feed-mapping/v1``; see ``docs/feeds.md``) names, for each
target, a *spec*: a column name, or ``{column, values, format, default, value}`` where
``values`` maps source codes to schema values, ``format`` is a ``strptime`` format, ``default``
fills empty cells and ``value`` is a constant. Without a ``fields`` section each event field is
read from the column of the same name, so JSON Lines written in the hub's own names need no
mapping at all (:meth:`RowMapping.by_name`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from hub.agency.coerce import is_empty, to_date, to_timestamp, to_value
from hub.agency.draft import EventDraft, Identity, age_at
from hub.codec import SchemaStore
from hub.errors import ConfigError, IdentifierError, ValidationError
from hub.pseudonym import NationalIdentity, PersonIdentity, normalise_date_of_birth
from hub.yamldoc import safe_load

MAPPING_FORMAT: Final = "vru-feed-mapping/v1"
_PERSON = ("given_name", "family_name", "date_of_birth")
_IDENTIFIERS = (*_PERSON, "postcode", "nhs_number", "national_id")


class Spec(BaseModel):
    """Where one target value comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str | None = None
    value: Any = None
    values: dict[str, Any] | None = None
    format: str | None = None
    default: Any = None


def _spec(raw: Any) -> Any:
    return {"column": raw} if isinstance(raw, str) else raw


def _constant(raw: Any) -> Any:
    return {"value": raw} if isinstance(raw, str) else raw


Source = Annotated[Spec, BeforeValidator(_spec)]
"""A spec; a plain string names a column."""
EventTypeSource = Annotated[Spec, BeforeValidator(_constant)]
"""A spec; a plain string is the fixed event type of every row."""


class IdentityMap(BaseModel):
    """Identifier columns. A national number, when present in a row, is preferred."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_name: Source | None = None
    family_name: Source | None = None
    date_of_birth: Source | None = None
    postcode: Source | None = None
    nhs_number: Source | None = None
    national_id: Source | None = None
    national_scheme: str | None = None


class EnvelopeMap(BaseModel):
    """Envelope columns; ``recorded_at`` defaults to ``occurred_at``, ``age`` to the DOB's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    occurred_at: Source
    lsoa: Source
    recorded_at: Source | None = None
    age: Source | None = None


class RowMapping(BaseModel):
    """A whole mapping file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["vru-feed-mapping/v1"] = MAPPING_FORMAT
    event_type: EventTypeSource
    source_ref: tuple[str, ...] = ()
    timezone: str = "UTC"
    identity: IdentityMap | None = None
    envelope: EnvelopeMap
    fields: dict[str, Source] | None = None

    @classmethod
    def load(cls, path: Path) -> RowMapping:
        """Read and check a mapping file; ConfigError says what is wrong."""
        try:
            data = safe_load(path.read_text(encoding="utf-8"))
            mapping = cls.model_validate(data)
            ZoneInfo(mapping.timezone)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read mapping ({type(exc).__name__})") from exc
        except PydanticValidationError as exc:
            raise ConfigError(f"{path}: {_problems(exc)}") from None
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"{path}: unknown timezone") from exc
        return mapping

    @classmethod
    def by_name(cls) -> RowMapping:
        """Every target read from the column of its own name (``event_type``, ``lsoa``, ...)."""
        names = {n: n for n in (*_PERSON, "postcode", "nhs_number")}
        return cls.model_validate(
            {
                "event_type": {"column": "event_type"},
                "source_ref": ("source_ref",),
                "identity": names,
                "envelope": {n: n for n in ("occurred_at", "lsoa", "recorded_at", "age")},
            }
        )


def _problems(exc: PydanticValidationError) -> str:
    errors = exc.errors(include_input=False, include_url=False)
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'mapping'}: {e['msg']}" for e in errors)


class RowMapper:
    """Applies a mapping to rows (dicts of column -> cell), giving EventDrafts."""

    def __init__(self, mapping: RowMapping, store: SchemaStore) -> None:
        self._mapping = mapping
        self._store = store
        self._zone = ZoneInfo(mapping.timezone)

    def draft(self, row: Mapping[str, Any]) -> EventDraft:
        """The draft of one row; ValidationError/IdentifierError name the target, not the value."""
        m = self._mapping
        event_type = _text("event_type", self._cell(row, "event_type", m.event_type))
        if event_type not in self._store.event_types:
            raise ValidationError("event_type: not a known event type")
        env = m.envelope
        occurred = self._timestamp(row, "occurred_at", env.occurred_at)
        recorded = self._timestamp(row, "recorded_at", env.recorded_at)
        if occurred is None:
            raise ValidationError("occurred_at: is required")
        identity, born = self._identity(row)
        return EventDraft(
            event_type=event_type,
            occurred_at=occurred,
            lsoa=_text("lsoa", self._required(row, "lsoa", env.lsoa)).upper(),
            source_ref=self._source_ref(row),
            identity=identity,
            fields=self._fields(row, event_type),
            age=self._age(row, born, occurred.date()),
            recorded_at=recorded,
        )

    def _cell(self, row: Mapping[str, Any], target: str, spec: Spec) -> Any:
        raw = spec.value if spec.column is None else row.get(spec.column)
        if is_empty(raw):
            return spec.default
        if spec.values is not None:
            key = str(raw).strip()
            if key not in spec.values:
                raise ValidationError(f"{target}: value not in the mapping's value map")
            raw = spec.values[key]
        return raw

    def _timestamp(self, row: Mapping[str, Any], target: str, spec: Spec | None) -> Any:
        raw = None if spec is None else self._cell(row, target, spec)
        if spec is None or is_empty(raw):
            return None
        return to_timestamp(target, raw, spec.format, self._zone)

    def _required(self, row: Mapping[str, Any], target: str, spec: Spec) -> Any:
        raw = self._cell(row, target, spec)
        if is_empty(raw):
            raise ValidationError(f"{target}: is required")
        return raw

    def _source_ref(self, row: Mapping[str, Any]) -> str:
        columns = self._mapping.source_ref
        if columns and all(not is_empty(row.get(c)) for c in columns):
            return "|".join(str(row[c]).strip() for c in columns)
        if columns and any(c in row for c in columns):
            raise ValidationError("source_ref: is required")
        text = json.dumps(row, sort_keys=True, default=str)
        return "row:" + hashlib.sha256(text.encode()).hexdigest()

    def _identity(self, row: Mapping[str, Any]) -> tuple[Identity | None, date | None]:
        spec = self._mapping.identity
        if spec is None:
            return None, None
        cells = {
            name: None if (source := getattr(spec, name)) is None else self._cell(row, name, source)
            for name in _IDENTIFIERS
        }
        born = None
        if not is_empty(cells["date_of_birth"]):
            fmt = spec.date_of_birth.format if spec.date_of_birth else None
            born = _birth_date(cells["date_of_birth"], fmt)
        if not is_empty(cells["nhs_number"]):
            return NationalIdentity("nhs", str(cells["nhs_number"])), born
        if not is_empty(cells["national_id"]):
            scheme = spec.national_scheme or ""
            return NationalIdentity(scheme, str(cells["national_id"])), born
        if all(is_empty(cells[n]) for n in _PERSON):
            return None, None
        missing = next((n for n in _PERSON if is_empty(cells[n])), None)
        if missing is not None or born is None:
            raise IdentifierError(missing or "date_of_birth", "missing")
        postcode = None if is_empty(cells["postcode"]) else str(cells["postcode"])
        person = PersonIdentity(str(cells["given_name"]), str(cells["family_name"]), born, postcode)
        return person, born

    def _age(self, row: Mapping[str, Any], born: date | None, day: date) -> int | None:
        spec = self._mapping.envelope.age
        if spec is not None and not is_empty(raw := self._cell(row, "age", spec)):
            return int(to_value("age", "int", raw, None, self._zone))
        return age_at(born, day) if born is not None else None

    def _fields(self, row: Mapping[str, Any], event_type: str) -> dict[str, Any]:
        schema = self._store.schema(event_type)
        specs = self._mapping.fields or {}
        out: dict[str, Any] = {}
        for field in schema["fields"]:
            name = field["name"]
            if name == "envelope":
                continue
            spec = specs.get(name) if self._mapping.fields is not None else Spec(column=name)
            if spec is None:
                raw: Any = field.get("default")
                out[name] = raw if "default" in field else None
                continue
            raw = self._cell(row, name, spec)
            if is_empty(raw) and "default" in field:
                out[name] = field["default"]
                continue
            out[name] = to_value(name, field["type"], raw, spec.format, self._zone)
        return out


def _text(target: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError(f"{target}: must be text")
    return raw.strip()


def _birth_date(raw: Any, fmt: str | None) -> date:
    try:
        return to_date("date_of_birth", raw, fmt) if fmt else _iso_or_uk(raw)
    except ValidationError:
        raise IdentifierError("date_of_birth", "not a recognised date") from None


def _iso_or_uk(raw: Any) -> date:
    return date.fromisoformat(normalise_date_of_birth(raw if isinstance(raw, date) else str(raw)))
