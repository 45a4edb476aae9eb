"""A correlation rule as a document: what contributes, within which window, under which conditions.

One rule version per YAML file under ``deploy/rules/``. Parsing checks the structure only;
:mod:`hub.rules.check` checks coherence (labels used are defined, thresholds fit together,
escalation raises severity) and what needs the schemas (event types, fields, enum symbols).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from hub.rules.condition import FieldTest, parse_test

Severity = Literal["low", "medium", "high"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high")
RULE_ID = r"^[a-z0-9][a-z0-9-]*$"
LABEL = r"^[a-z][a-z0-9_]*$"
EVENT_TYPE = r"^[a-z_]+\.[a-z_]+$"
MAX_WINDOW_DAYS = 730


def rank(severity: Severity) -> int:
    """Position in the closed list low < medium < high."""
    return SEVERITIES.index(severity)


def _parsed(value: Any) -> Any:
    return parse_test(value) if isinstance(value, str) else value


Test = Annotated[FieldTest, BeforeValidator(_parsed)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Contributor(_Frozen):
    """An event type that contributes, optionally only when its fields pass every test.

    ``label`` names the contributor in ``require`` and ``sequence``; several contributors may
    share a label (e.g. every kind of police contact). It defaults to the event type.
    """

    type: str = Field(pattern=EVENT_TYPE)
    label: str | None = Field(default=None, pattern=LABEL)
    where: tuple[Test, ...] = ()

    @property
    def name(self) -> str:
        """The label conditions refer to."""
        return self.label or self.type


class AgeRange(_Frozen):
    """The subject's age at each contributing event, in whole years, bounds included."""

    min: int = Field(default=0, ge=0, le=120)
    max: int = Field(default=120, ge=0, le=120)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min > self.max:
            raise ValueError("min is above max")
        return self

    def contains(self, age: int | None) -> bool:
        """An unknown age never satisfies an age range."""
        return age is not None and self.min <= age <= self.max


class Sequence(_Frozen):
    """An event labelled ``first`` FOLLOWED BY one labelled ``then`` within ``within_days``."""

    first: str
    then: str
    within_days: int = Field(gt=0, le=MAX_WINDOW_DAYS)


class Conditions(_Frozen):
    """What the contributions inside one window must show together."""

    min_events: int = Field(default=1, ge=1)
    min_agencies: int = Field(default=1, ge=1)
    require: tuple[str, ...] = ()
    age: AgeRange | None = None
    sequence: tuple[Sequence, ...] = ()


class Threshold(_Frozen):
    """When an escalation applies: at least this many events and/or agencies."""

    min_events: int | None = Field(default=None, ge=1)
    min_agencies: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _not_empty(self) -> Threshold:
        if self.min_events is None and self.min_agencies is None:
            raise ValueError("give min_events or min_agencies")
        return self


class Escalation(_Frozen):
    """A higher severity once the window holds more than the rule's minimum."""

    when: Threshold
    severity: Severity


class Rule(_Frozen):
    """One version of one correlation rule."""

    id: str = Field(pattern=RULE_ID)
    version: int = Field(ge=1)
    title: str = Field(min_length=3, max_length=120)
    explanation: str = Field(min_length=20)
    severity: Severity
    window_days: int = Field(gt=0, le=MAX_WINDOW_DAYS)
    events: tuple[Contributor, ...] = Field(min_length=1)
    conditions: Conditions = Conditions()
    escalation: tuple[Escalation, ...] = ()

    @property
    def ref(self) -> str:
        """``id@version``, as flags and findings cite it."""
        return f"{self.id}@{self.version}"

    @property
    def labels(self) -> frozenset[str]:
        """Every label the rule's contributors define."""
        return frozenset(c.name for c in self.events)
