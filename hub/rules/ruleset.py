"""The rules in force, indexed for the correlator: by contributing type, with the horizon."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from hub.errors import RuleError
from hub.rules.catalog import RuleCatalog
from hub.rules.check import check_loaded
from hub.rules.loader import LoadedRules, load_rules
from hub.rules.model import Rule


class RuleSet:
    """An immutable set of coherent rules with unique ids.

    ``horizon`` is the longest window: a contribution older than that can no longer be part
    of a flag that is still active. ``fields_for(type)`` is what a contribution of that type
    must keep for the rules' conditions, and nothing more. ``least_events`` and
    ``least_agencies`` are the fewest events and agencies any rule needs: a window with fewer
    can raise no flag. ``ids`` are the rules' ids.
    """

    __slots__ = (
        "_by_id",
        "_fields",
        "_kept",
        "_rules",
        "_types",
        "horizon",
        "ids",
        "least_agencies",
        "least_events",
    )

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules = tuple(sorted(rules, key=lambda r: r.id))
        ids = [r.id for r in self._rules]
        if len(set(ids)) != len(ids):
            raise RuleError("two rules share an id")
        if not self._rules:
            raise RuleError("a rule set needs at least one rule")
        self._types = frozenset(c.type for r in self._rules for c in r.events)
        fields: dict[str, set[str]] = {}
        for rule in self._rules:
            for contributor in rule.events:
                names = fields.setdefault(contributor.type, set())
                names.update(t.field for t in contributor.where)
        self._fields = {t: frozenset(n) for t, n in fields.items()}
        self._kept = {t: tuple(sorted(n)) for t, n in fields.items()}
        self.horizon = timedelta(days=max(r.window_days for r in self._rules))
        self.least_events = min(r.conditions.min_events for r in self._rules)
        self.least_agencies = min(r.conditions.min_agencies for r in self._rules)
        self._by_id = {r.id: r for r in self._rules}
        self.ids = frozenset(ids)

    @classmethod
    def load(cls, directory: Path, catalog: RuleCatalog | None = None) -> RuleSet:
        """Load a directory; RuleError when any file fails ``hub rules check``."""
        return cls.checked(load_rules(directory), catalog)

    @classmethod
    def checked(cls, loaded: LoadedRules, catalog: RuleCatalog | None = None) -> RuleSet:
        """The rules of a loaded directory, refusing the whole set on any finding (fail loudly)."""
        report = check_loaded(loaded, catalog)
        if not report.ok:
            raise RuleError(f"{len(report.findings)} rule problems, first: {report.findings[0]}")
        return cls(rule for _, rule in loaded.rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, sorted by id."""
        return self._rules

    def get(self, rule_id: str) -> Rule:
        """The rule with this id; RuleError when there is none."""
        rule = self._by_id.get(rule_id)
        if rule is None:
            raise RuleError(f"no rule '{rule_id}' in the set")
        return rule

    def contributes(self, event_type: str) -> bool:
        """Whether events of this type can contribute to any rule."""
        return event_type in self._types

    def fields_for(self, event_type: str) -> frozenset[str]:
        """The type-specific fields the rules test on this type."""
        return self._fields.get(event_type, frozenset())

    def kept_fields(self, event_type: str) -> tuple[str, ...] | None:
        """:meth:`fields_for` sorted by name (the order a contribution keeps them in), or
        None when the type contributes to no rule."""
        return self._kept.get(event_type)

    def __len__(self) -> int:
        return len(self._rules)
