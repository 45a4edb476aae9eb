"""The first, minimal disclosure rule: an allow-list of (agency, event type) -> partnerships.

Default deny. A partnership receives an event only when it covers the event's area and a flow
names it. The agreements engine (``hub.dsa``) supersedes this.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.errors import ConfigError
from hub.registry import Registry


class Flow(BaseModel):
    """Events of these types from this agency may go to these partnerships."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agency: str
    event_types: frozenset[str] = Field(min_length=1)
    partnerships: frozenset[str] = Field(min_length=1)


class AllowList(BaseModel):
    """Every permitted flow; anything else is denied."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    flows: tuple[Flow, ...]

    def allows(self, agency: str, event_type: str, partnership: str) -> bool:
        """Whether some flow permits this agency's event type to reach this partnership."""
        return any(
            f.agency == agency and event_type in f.event_types and partnership in f.partnerships
            for f in self.flows
        )

    def check_against(self, registry: Registry) -> None:
        """Raise ConfigError if a flow names a party or event type the registry lacks."""
        known_partnerships = {p.id for p in registry.partnerships}
        for index, flow in enumerate(self.flows):
            agency = registry.agency(flow.agency)
            unknown_types = sorted(flow.event_types - set(agency.event_types))
            unknown_parts = sorted(flow.partnerships - known_partnerships)
            if unknown_types or unknown_parts:
                raise ConfigError(
                    f"flows.{index}: unknown event types {unknown_types}"
                    f" or partnerships {unknown_parts}"
                )


def load_allowlist(path: Path, registry: Registry) -> AllowList:
    """Parse and check ``allowlist.yaml``."""
    try:
        allowlist = AllowList.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read allow-list: {exc}") from exc
    except ValidationError as exc:
        raise ConfigError(f"{path}: {exc.errors()[0]['msg']}") from exc
    try:
        allowlist.check_against(registry)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return allowlist
