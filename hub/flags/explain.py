"""A flag explains itself: the rule in plain words and the events behind it, no score.

The explanation is built for one recipient from the contributions that recipient may see:
each is listed by type, agency and DATE (never a time), and a field only when the caller
says the recipient may see it (from the agreements decision) and the contribution has it.
The agencies to ask come from the visible events only. Hidden events are not counted, so
the explanation does not reveal that something else exists.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import date

from pydantic import BaseModel, ConfigDict

from hub.errors import RuleError
from hub.flags.contribution import Contribution
from hub.flags.state import FlagState
from hub.rules import FieldValue, Rule, Severity


class ExplainedEvent(BaseModel):
    """One contributing event as the recipient sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: str
    agency_id: str
    on: date
    fields: Mapping[str, FieldValue] = {}


class Explanation(BaseModel):
    """Why a flag was raised, in words, for one recipient."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    flag_id: str
    revision: str
    rule_id: str
    rule_version: int
    title: str
    text: str
    conditions: tuple[str, ...]
    severity: Severity
    window_from: date
    window_to: date
    events: tuple[ExplainedEvent, ...]
    agencies_to_ask: tuple[str, ...]


def explain(
    flag: FlagState,
    visible: Iterable[Contribution],
    rule: Rule,
    allowed_fields: Mapping[str, Collection[str]] | None = None,
) -> Explanation:
    """Explain ``flag`` with the visible contributions among its events.

    ``allowed_fields`` maps an event id to the field names the recipient may see (e.g.
    ``Decision.fields``); without it no field is shown.
    """
    if (rule.id, rule.version) != (flag.rule_id, flag.rule_version):
        raise RuleError(f"flag was raised by {flag.rule_id}@{flag.rule_version}, not {rule.ref}")
    shown = sorted((c for c in visible if c.event_id in flag.event_ids), key=lambda c: c.key)
    allowed = allowed_fields or {}
    events = tuple(_event(c, allowed.get(c.event_id, ())) for c in shown)
    return Explanation(
        flag_id=flag.flag_id,
        revision=flag.revision,
        rule_id=rule.id,
        rule_version=rule.version,
        title=rule.title,
        text=" ".join(rule.explanation.split()),
        conditions=describe(rule),
        severity=flag.severity,
        window_from=flag.window_start.date(),
        window_to=flag.window_end.date(),
        events=events,
        agencies_to_ask=tuple(sorted({c.agency_id for c in shown})),
    )


def _event(contribution: Contribution, allowed: Collection[str]) -> ExplainedEvent:
    fields = {n: v for n, v in sorted(contribution.fields.items()) if n in allowed}
    return ExplainedEvent(
        event_type=contribution.event_type,
        agency_id=contribution.agency_id,
        on=contribution.occurred_at.date(),
        fields=fields,
    )


def describe(rule: Rule) -> tuple[str, ...]:
    """The rule's conditions as short sentences, in the order they are checked."""
    cond = rule.conditions
    lines = [
        f"at least {cond.min_events} events from {cond.min_agencies} or more agencies"
        f" within {rule.window_days} days"
    ]
    if cond.require:
        lines.append("including: " + ", ".join(label.replace("_", " ") for label in cond.require))
    lines += [
        f"{s.first.replace('_', ' ')} followed by {s.then.replace('_', ' ')}"
        f" within {s.within_days} days"
        for s in cond.sequence
    ]
    if cond.age is not None:
        lines.append(f"aged {cond.age.min} to {cond.age.max} at each event")
    lines += [
        f"severity {e.severity} from {e.when.min_events or 0} events"
        f" and {e.when.min_agencies or 0} agencies"
        for e in rule.escalation
    ]
    return tuple(lines)
