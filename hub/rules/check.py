"""``hub rules check``: is every rule well-formed, coherent and about real events?

Each defect is one :class:`Finding` with a stable ``code``, the file, the path inside the
document and a message naming rule symbols (never event data). Codes:

=========================  ==========================================================
``parse_error``            YAML or structure (missing key, bad severity, bad window)
``duplicate_id``           two files define the same rule id
``unknown_label``          ``require``/``sequence`` name a label no contributor has
``incoherent``             thresholds contradict each other or the window
``escalation``             an escalation does not raise severity or threshold
``unknown_event_type``     no schema for the contributing type
``area_level_type``        the type has no subject, so it cannot be about a person
``unknown_field``          a condition tests a field the type does not have
``unsupported_field``      the field's kind cannot be tested with that operator
``unknown_symbol``         an enum symbol the field does not define
``unsatisfiable``          fewer agencies publish the types than ``min_agencies``
=========================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from hub.registry import Registry
from hub.rules.catalog import RuleCatalog
from hub.rules.condition import FieldTest
from hub.rules.loader import LoadedRules, load_rules
from hub.rules.model import Rule, rank


class Finding(BaseModel):
    """One defect in one rule file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"error: {where}: {self.message} [{self.code}]"


class RuleReport(BaseModel):
    """Every finding of a check run, and how many rules parsed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.findings


Problem = tuple[str, str, str]  # code, path, message


def check_rules(
    directory: Path, catalog: RuleCatalog | None, registry: Registry | None = None
) -> RuleReport:
    """Load and check every rule file of a directory."""
    return check_loaded(load_rules(directory), catalog, registry)


def check_loaded(
    loaded: LoadedRules, catalog: RuleCatalog | None, registry: Registry | None = None
) -> RuleReport:
    """Check parsed rules; parse problems become ``parse_error`` findings."""
    findings = [
        Finding(code="parse_error", file=p.file, path=p.path, message=p.message)
        for p in loaded.problems
    ]
    seen: dict[str, str] = {}
    for file, rule in loaded.rules:
        if rule.id in seen:
            findings.append(
                Finding(
                    code="duplicate_id",
                    file=file,
                    path="id",
                    message=f"rule '{rule.id}' is also defined in {seen[rule.id]}",
                )
            )
        seen.setdefault(rule.id, file)
        problems = [*coherence(rule)]
        if catalog is not None:
            problems += schema_problems(rule, catalog)
        if registry is not None:
            problems += agency_problems(rule, registry)
        findings += [Finding(code=c, file=file, path=p, message=m) for c, p, m in problems]
    return RuleReport(rules=len(loaded.rules), findings=tuple(findings))


def coherence(rule: Rule) -> Iterator[Problem]:
    """Labels, thresholds and escalation steps that contradict each other."""
    known, cond = rule.labels, rule.conditions
    for i, label in enumerate(cond.require):
        if label not in known:
            yield "unknown_label", f"conditions.require.{i}", f"no contributor has label '{label}'"
    for i, step in enumerate(cond.sequence):
        for end in ("first", "then"):
            label = getattr(step, end)
            if label not in known:
                path = f"conditions.sequence.{i}.{end}"
                yield "unknown_label", path, f"no contributor has label '{label}'"
        if step.within_days > rule.window_days:
            yield (
                "incoherent",
                f"conditions.sequence.{i}.within_days",
                f"{step.within_days} days is longer than the {rule.window_days}-day window",
            )
    if cond.min_agencies > cond.min_events:
        yield (
            "incoherent",
            "conditions.min_agencies",
            f"{cond.min_agencies} agencies need at least as many events, not {cond.min_events}",
        )
    if cond.min_events < len(set(cond.require)):
        yield (
            "incoherent",
            "conditions.min_events",
            f"{cond.min_events} is below the {len(set(cond.require))} required labels",
        )
    yield from _escalation(rule)


def _escalation(rule: Rule) -> Iterator[Problem]:
    cond, previous = rule.conditions, rule.severity
    for i, step in enumerate(rule.escalation):
        if rank(step.severity) <= rank(previous):
            yield (
                "escalation",
                f"escalation.{i}.severity",
                f"{step.severity} does not raise the severity above {previous}",
            )
        previous = max(previous, step.severity, key=rank)
        events, agencies = step.when.min_events or 0, step.when.min_agencies or 0
        if events <= cond.min_events and agencies <= cond.min_agencies:
            yield (
                "escalation",
                f"escalation.{i}.when",
                "threshold does not exceed the rule's own conditions",
            )


def schema_problems(rule: Rule, catalog: RuleCatalog) -> Iterator[Problem]:
    """Contributing types and the fields their conditions test, against the schemas."""
    for i, contributor in enumerate(rule.events):
        spec = catalog.get(contributor.type)
        if spec is None:
            yield (
                "unknown_event_type",
                f"events.{i}.type",
                f"no schema for event type '{contributor.type}'",
            )
            continue
        if not spec.has_subject:
            yield (
                "area_level_type",
                f"events.{i}.type",
                f"{contributor.type} is area-level (no subject), so it cannot contribute"
                " to a person-level rule",
            )
        for j, test in enumerate(contributor.where):
            yield from _test_problems(test, contributor.type, catalog, f"events.{i}.where.{j}")


def _test_problems(
    test: FieldTest, event_type: str, catalog: RuleCatalog, path: str
) -> Iterator[Problem]:
    field = catalog[event_type].fields.get(test.field)
    if field is None:
        yield "unknown_field", path, f"{event_type} has no field '{test.field}'"
        return
    wanted = {"contains": {"array"}, ">=": {"int"}, "<=": {"int"}, ">": {"int"}, "<": {"int"}}
    allowed = wanted.get(test.op, {"enum", "int", "boolean", "string"})
    if field.kind not in allowed:
        yield (
            "unsupported_field",
            path,
            f"'{test.op}' cannot test {event_type}.{test.field} ({field.kind})",
        )
        return
    if field.symbols:
        for value in test.values:
            if value is None and field.nullable:
                continue
            if not isinstance(value, str) or value not in field.symbols:
                yield ("unknown_symbol", path, f"{event_type}.{test.field} has no symbol '{value}'")


def agency_problems(rule: Rule, registry: Registry) -> Iterator[Problem]:
    """A rule needing more agencies than publish its contributing types can never match."""
    types = {c.type for c in rule.events}
    publishers = {a.id for a in registry.agencies if types & set(a.event_types)}
    if rule.conditions.min_agencies > len(publishers):
        yield (
            "unsatisfiable",
            "conditions.min_agencies",
            f"{rule.conditions.min_agencies} agencies needed but only {len(publishers)}"
            " publish the contributing types",
        )
