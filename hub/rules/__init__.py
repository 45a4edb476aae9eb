"""Correlation rules as code: documents, the condition language, checks and the rule set.

::

    report = check_rules(Path("deploy/rules"), catalog_from_store(store), registry)
    rules = RuleSet.load(Path("deploy/rules"), catalog_from_store(store))   # RuleError if not ok

Pure domain logic: no I/O besides the loader. :mod:`hub.flags` evaluates a rule set over one
subject's window of contributions.
"""

from hub.rules.catalog import FieldSpec, RuleCatalog, TypeSpec, catalog_from_store
from hub.rules.check import Finding, RuleReport, check_loaded, check_rules
from hub.rules.condition import FieldTest, FieldValue, parse_test
from hub.rules.loader import LoadedRules, ParseProblem, load_rules, parse_rule
from hub.rules.model import (
    SEVERITIES,
    AgeRange,
    Conditions,
    Contributor,
    Escalation,
    Rule,
    Sequence,
    Severity,
    Threshold,
    rank,
)
from hub.rules.ruleset import RuleSet

__all__ = [
    "SEVERITIES",
    "AgeRange",
    "Conditions",
    "Contributor",
    "Escalation",
    "FieldSpec",
    "FieldTest",
    "FieldValue",
    "Finding",
    "LoadedRules",
    "ParseProblem",
    "Rule",
    "RuleCatalog",
    "RuleReport",
    "RuleSet",
    "Sequence",
    "Severity",
    "Threshold",
    "TypeSpec",
    "catalog_from_store",
    "check_loaded",
    "check_rules",
    "load_rules",
    "parse_rule",
    "parse_test",
    "rank",
]
