"""A flag's severity, for entries of a ledger that does not record it.

A decision entry names the flag's rule and version and all of the flag's events, not its
severity. The severity follows from the rule: its base severity, raised by each escalation
whose thresholds the flag's events reach (as :func:`hub.flags.match.severity` computes it
when the flag is raised). The number of events is the entry's event list; the number of
agencies is those the entry's permitting or covering clauses name (``data_items[<type>]``),
a lower bound when an event was refused before any agreement covered it. An entry whose
rule version is not the one known here is ``unrecorded``.
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.dispatch import DecisionRecord
from hub.rules import Rule, rank

UNRECORDED = "unrecorded"
_ITEM = "data_items["


def event_type_of(clause_name: str) -> str | None:
    """The event type a ``data_items[<type>]`` clause covers, else None."""
    if clause_name.startswith(_ITEM) and clause_name.endswith("]"):
        return clause_name[len(_ITEM) : -1]
    return None


def severity_of(
    record: DecisionRecord, rules: Mapping[str, Rule], owners: Mapping[str, str]
) -> str:
    """The severity of the entry's flag, from the rule version it names."""
    rule = rules.get(record.rule_id)
    if rule is None or rule.version != record.rule_version:
        return UNRECORDED
    types = {
        t for d in record.decisions for c in d.clauses if (t := event_type_of(c.clause)) is not None
    }
    agencies = len({owners[t] for t in types if t in owners})
    events = len(record.events)
    found = rule.severity
    for step in rule.escalation:
        if events >= (step.when.min_events or 0) and agencies >= (step.when.min_agencies or 0):
            found = max(found, step.severity, key=rank)
    return str(found)
