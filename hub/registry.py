"""The registry of onboarded agencies and partnerships (``deploy/registry.yaml``).

:func:`load_registry` reads it; :func:`add_entry` onboards one agency or partnership by
rewriting the file with its comments and layout kept (``hub registry add-*``), after checking
the whole result, plus :func:`check_known` against the schemas and the area lookup.
"""

from __future__ import annotations

import io
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RoundTripYAMLError

from hub.errors import ConfigError
from hub.yamldoc import safe_load

_ID = r"^[a-z0-9][a-z0-9-]*$"
_EVENT_TYPE = r"^[a-z_]+\.[a-z_]+$"
_COUNCIL = r"^E(06|07|08|09|10)\d{6}$"


class Agency(BaseModel):
    """An organisation that publishes events to its own feed topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    name: str
    sector: str
    event_types: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _event_types_well_formed(self) -> Agency:
        bad = [t for t in self.event_types if not _matches(_EVENT_TYPE, t)]
        if bad:
            raise ValueError(f"malformed event types {bad}")
        return self


class Partnership(BaseModel):
    """A local serious-violence partnership: the recipient of alerts for its councils."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_ID)
    name: str
    councils: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _councils_well_formed(self) -> Partnership:
        bad = [c for c in self.councils if not _matches(_COUNCIL, c)]
        if bad:
            raise ValueError(f"malformed ONS council codes {bad}")
        return self


class Registry(BaseModel):
    """Every agency and partnership the hub serves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agencies: tuple[Agency, ...]
    partnerships: tuple[Partnership, ...]

    @model_validator(mode="after")
    def _unique(self) -> Registry:
        for kind, ids in (
            ("agency", [a.id for a in self.agencies]),
            ("partnership", [p.id for p in self.partnerships]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} ids {dupes}")
        councils = [c for p in self.partnerships for c in p.councils]
        shared = sorted({c for c in councils if councils.count(c) > 1})
        if shared:
            raise ValueError(f"councils claimed by more than one partnership: {shared}")
        return self

    def agency(self, agency_id: str) -> Agency:
        """The agency with this id, or ConfigError."""
        for agency in self.agencies:
            if agency.id == agency_id:
                return agency
        raise ConfigError(f"unknown agency {agency_id!r}")

    def partnership(self, partnership_id: str) -> Partnership:
        """The partnership with this id, or ConfigError."""
        for partnership in self.partnerships:
            if partnership.id == partnership_id:
                return partnership
        raise ConfigError(f"unknown partnership {partnership_id!r}")

    def partnership_for_council(self, council: str) -> Partnership | None:
        """The partnership covering an upper-tier council, if any."""
        for partnership in self.partnerships:
            if council in partnership.councils:
                return partnership
        return None

    @property
    def event_types(self) -> frozenset[str]:
        """Every event type any agency may publish."""
        return frozenset(t for a in self.agencies for t in a.event_types)


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def load_registry(path: Path) -> Registry:
    """Parse ``registry.yaml``; errors name the file and the path inside it."""
    try:
        raw = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read registry: {exc}") from exc
    return _validated(path, raw)


def _validated(path: Path, raw: Any) -> Registry:
    try:
        return Registry.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {validation_problems(exc)}") from exc


def validation_problems(exc: ValidationError) -> str:
    """A pydantic error as ``where: what`` pairs (never the offending values)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}" for err in exc.errors()
    )


def check_known(
    registry: Registry, *, councils: Collection[str], event_types: Collection[str]
) -> None:
    """ConfigError unless every council is in the area lookup and every event type has a schema."""
    unknown_councils = sorted({c for p in registry.partnerships for c in p.councils} - {*councils})
    unknown_types = sorted(registry.event_types - {*event_types})
    problems = []
    if unknown_councils:
        problems.append(f"councils not in the area lookup: {unknown_councils}")
    if unknown_types:
        problems.append(f"event types without a schema: {unknown_types}")
    if problems:
        raise ConfigError("; ".join(problems))


EntryKind = Literal["agencies", "partnerships"]


def add_entry(path: Path, kind: EntryKind, entry: Agency | Partnership) -> Registry:
    """Append ``entry`` to the registry file, keeping its comments; returns the new registry.

    The whole file is validated (unique ids, councils claimed once, well-formed codes) before
    it is replaced atomically; on any problem the file is left as it was.
    """
    round_trip = YAML()
    round_trip.preserve_quotes = True
    round_trip.width = 4096  # never re-wrap existing lines
    round_trip.indent(mapping=2, sequence=4, offset=2)
    try:
        doc = round_trip.load(path.read_text(encoding="utf-8"))
    except (OSError, RoundTripYAMLError) as exc:
        raise ConfigError(f"{path}: cannot read registry: {exc}") from exc
    if not isinstance(doc, CommentedMap) or not isinstance(doc.get(kind), CommentedSeq):
        raise ConfigError(f"{path}: no {kind} list to add to")
    doc[kind].append(_entry_map(entry, flow=kind == "partnerships"))
    registry = _validated(path, safe_load(_dump(round_trip, doc)))
    _replace(path, _dump(round_trip, doc))
    return registry


def _entry_map(entry: Agency | Partnership, *, flow: bool) -> CommentedMap:
    data = entry.model_dump(mode="json")
    node = CommentedMap()
    for name, value in data.items():
        if isinstance(value, list):
            seq = CommentedSeq(value)
            seq.fa.set_flow_style()
            node[name] = seq
        else:
            node[name] = value
    if flow:
        node.fa.set_flow_style()
    return node


def _dump(round_trip: YAML, doc: CommentedMap) -> str:
    out = io.StringIO()
    round_trip.dump(doc, out)
    return out.getvalue()


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
