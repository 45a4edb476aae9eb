"""A contribution: the little the correlator keeps of one accepted event about a person.

Only the envelope facts rules and delivery need (type, agency, time, area, age) and the
type-specific fields some rule tests. Everything else stays in the accepted-event topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.models import Event
from hub.models.built import built
from hub.rules import FieldValue, RuleSet


class Contribution(BaseModel):
    """One event of one subject's window, reduced to what the rules need."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    event_type: str
    agency_id: str
    occurred_at: AwareDatetime
    council: str | None = None
    lsoa: str | None = None
    age: int | None = Field(default=None, ge=0, le=120)
    fields: Mapping[str, FieldValue] = Field(default_factory=dict)

    @property
    def key(self) -> tuple[AwareDatetime, str]:
        """The order contributions are kept and listed in: time, then event id."""
        return (self.occurred_at, self.event_id)


def contribution_of(event: Event, council: str | None, rules: RuleSet) -> Contribution | None:
    """The contribution an accepted event makes, or None when it can make none.

    None when the event has no subject (area-level events such as ``health.ed_assault``
    cannot be about a person) or no rule lists its type.
    """
    if event.subject_token is None:
        return None
    wanted = rules.kept_fields(event.event_type)
    if wanted is None:
        return None
    envelope = event.envelope
    fields = event.fields
    # The envelope's values are validated, and each field value is a FieldValue already.
    return built(
        Contribution,
        {
            "event_id": envelope.event_id,
            "event_type": event.event_type,
            "agency_id": envelope.agency_id,
            "occurred_at": envelope.occurred_at,
            "council": council,
            "lsoa": envelope.lsoa,
            "age": envelope.age,
            "fields": {name: _value(fields[name]) for name in wanted if name in fields},
        },
    )


def _value(raw: Any) -> FieldValue:
    """Avro values as rules see them: arrays become tuples, scalars stay as they are."""
    if isinstance(raw, list | tuple):
        return tuple(str(item) for item in raw)
    if raw is None or isinstance(raw, str | int | bool):
        return raw
    return str(raw)
