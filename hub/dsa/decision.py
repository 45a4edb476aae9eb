"""The outcome of a disclosure decision, and the projection it allows.

A :class:`Decision` names fields, never their values, so it can go to the audit log as it
is. The values leave the hub only through :func:`project`, which keeps exactly the fields
the decision allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from hub.dsa.facts import EventFacts
from hub.dsa.vocabulary import DenialReason, Level, Outcome, Purpose

BASE_FIELDS = ("event_id", "agency_id", "event_type", "occurred_at", "council")
"""Envelope facts every permitted disclosure carries."""

OPTIONAL_ENVELOPE_FIELDS = frozenset({"age", "lsoa"})
"""Envelope facts an agreement may allow by name, like a type-specific field."""


Effect = Literal["met", "failed", "removes_fields", "prohibits"]


class Clause(BaseModel):
    """One clause considered while deciding, and what it did to the decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agreement: str
    clause: str
    effect: Effect
    detail: str

    @property
    def met(self) -> bool:
        """Whether the clause let the disclosure go on (possibly with fewer fields)."""
        return self.effect in {"met", "removes_fields"}


class Decision(BaseModel):
    """Permit or deny one event to one recipient, with the agreement and clauses used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: Outcome
    event_id: str
    recipient: str
    purpose: Purpose
    at: datetime
    agreement_id: str | None = None
    agreement_version: int | None = None
    agreement_digest: str | None = None
    level: Level | None = None
    consent_id: str | None = None
    fields: tuple[str, ...] = ()
    clauses: tuple[Clause, ...] = ()
    reasons: tuple[DenialReason, ...] = ()

    @property
    def permitted(self) -> bool:
        """Whether the disclosure may happen."""
        return self.outcome is _PERMIT  # a module constant: Enum member lookup costs more

    def restamped(self, event_id: str, at: datetime) -> Decision:
        """This decision for another event and time (every other field validated already).

        ``model_copy(update=...)`` without its generic deep-copy machinery: dispatch restamps
        a remembered decision for every event and partnership it records. Built as pydantic 2
        builds a model without validation (``model_construct``); the unit tests compare it
        with a fresh decision, field by field and as JSON.
        """
        return stamped((self,), (event_id,), at)[0]


def stamped(
    decisions: Iterable[Decision], event_ids: Iterable[str], at: datetime
) -> tuple[Decision, ...]:
    """Each decision for its event id at ``at``: itself when it is for them already, else
    :meth:`Decision.restamped` (one loop for a record's decisions, no call per decision)."""
    found = []
    for decision, event_id in zip(decisions, event_ids, strict=True):
        if decision.event_id == event_id and decision.at is at:
            found.append(decision)
            continue
        fields = decision.__dict__.copy()
        fields["event_id"] = event_id
        fields["at"] = at
        new = _new(Decision)
        _set(new, "__dict__", fields)
        _fields_set(new, decision.__pydantic_fields_set__)
        _extra(new, None)
        _private(new, None)
        found.append(new)
    return tuple(found)


_new = Decision.__new__
_set = object.__setattr__  # a frozen model's own __setattr__ refuses; this is pydantic's way
# BaseModel's slots, set through their descriptors (what object.__setattr__ finds, found once)
_fields_set = vars(BaseModel)["__pydantic_fields_set__"].__set__
_extra = vars(BaseModel)["__pydantic_extra__"].__set__
_private = vars(BaseModel)["__pydantic_private__"].__set__


class FlagDecision(BaseModel):
    """A decision over the set of events behind one flag: permit only if each one is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: Outcome
    decisions: tuple[Decision, ...]

    @property
    def reasons(self) -> tuple[DenialReason, ...]:
        """Every denial reason of every event, in the closed list's order."""
        found = {r for d in self.decisions for r in d.reasons}
        return tuple(r for r in DenialReason if r in found)


def project(event: EventFacts, decision: Decision) -> dict[str, Any]:
    """The event reduced to the fields the decision allows; empty when denied."""
    if not decision.permitted or decision.event_id != event.event_id:
        return {}
    envelope: dict[str, Any] = {
        "event_id": event.event_id,
        "agency_id": event.agency_id,
        "event_type": event.event_type,
        "occurred_at": event.occurred_at,
        "council": event.council,
        "subject_token": event.subject_token,
        "age": event.age,
        "lsoa": event.lsoa,
    }
    out: dict[str, Any] = {}
    for name in decision.fields:
        if name in envelope:
            if envelope[name] is not None:
                out[name] = envelope[name]
        elif name in event.fields:
            out[name] = event.fields[name]
    return out


_PERMIT = Outcome.PERMIT
