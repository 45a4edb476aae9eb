"""The registry of onboarded agencies and partnerships (``deploy/registry.yaml``)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import ConfigError

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
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read registry: {exc}") from exc
    try:
        return Registry.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
