"""Area rules: conditions over places, not people (``deploy/rules/area/``).

An area rule counts events of some types in one LSOA: it holds when, over the ``window_days``
to the latest such event, there are at least ``min_events`` of them and at least
``min_ratio`` times the LSOA's own baseline, the mean count per window over the
``baseline_days`` before that window. Area rules live in their own folder, so the person
rules' loader never sees them; ``hub rules check`` checks both.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.errors import RuleError
from hub.rules.model import EVENT_TYPE, RULE_ID, Severity
from hub.yamldoc import load_documents

AREA_DIR = "area"
SMALLEST_ALERT = 5
"""An area alert carries its count: never below the small-number threshold."""


class AreaRule(BaseModel):
    """One area rule version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["area"]
    id: str = Field(pattern=RULE_ID)
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    severity: Severity
    explanation: str = Field(min_length=1)
    event_types: tuple[str, ...] = Field(min_length=1)
    window_days: int = Field(default=28, ge=7, le=92)
    baseline_days: int = Field(default=365, ge=28, le=730)
    min_events: int = Field(ge=SMALLEST_ALERT)
    min_ratio: float = Field(ge=1.0, le=20.0)

    @model_validator(mode="after")
    def _coherent(self) -> AreaRule:
        if self.baseline_days < 2 * self.window_days:
            raise ValueError("baseline_days: at least two windows make a baseline")
        bad = [t for t in self.event_types if re.fullmatch(EVENT_TYPE, t) is None]
        if bad:
            raise ValueError(f"event_types: not an event type: {', '.join(bad)}")
        return self


def load_area_rules(rules_dir: Path) -> tuple[AreaRule, ...]:
    """The area rules under ``rules_dir/area`` (none when the folder is absent)."""
    directory = rules_dir / AREA_DIR
    if not directory.is_dir():
        return ()
    loaded, problems = load_documents(directory, AreaRule)
    if problems:
        raise RuleError("; ".join(str(p) for p in problems))
    return tuple(rule for _, rule in loaded)


def check_area_rules(rules_dir: Path, area_types: frozenset[str]) -> list[str]:
    """Every problem of the area rules: parse errors, and event types that are not area-level
    types the hub knows (``area_types``)."""
    directory = rules_dir / AREA_DIR
    if not directory.is_dir():
        return []
    loaded, problems = load_documents(directory, AreaRule)
    found = [str(p) for p in problems]
    ids: set[str] = set()
    for source, rule in loaded:
        if rule.id in ids:
            found.append(f"{source}: id {rule.id} used twice")
        ids.add(rule.id)
        found += [
            f"{source}: event_types: {t} is not an area-level event type"
            for t in rule.event_types
            if t not in area_types
        ]
    return found
