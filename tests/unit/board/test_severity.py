"""A flag's severity from its rule, for ledger entries that do not record it."""

from __future__ import annotations

import json

from hub.board import read_ledger
from hub.board.severity import severity_of
from hub.dispatch import DecisionRecord
from hub.rules import RuleSet
from tests.unit.board.builders import OWNERS, POLICE, entry
from tests.unit.dsa.builders import REGISTRY_PATH

RULES = {r.id: r for r in RuleSet.load(REGISTRY_PATH.parent / "rules").rules}


def record(value: bytes) -> DecisionRecord:
    return DecisionRecord.model_validate_json(value)


def test_the_rule_gives_the_base_severity_and_escalates_with_the_number_of_events() -> None:
    few = record(entry(1, "reading", [(f"e{n}", *POLICE) for n in range(2)], severity=None))
    many = record(entry(2, "reading", [(f"e{n}", *POLICE) for n in range(5)], severity=None))
    assert RULES["repeated-violence"].severity == "medium"
    assert severity_of(few, RULES, OWNERS) == "medium"
    assert severity_of(many, RULES, OWNERS) == "high"


def test_an_unknown_rule_or_version_is_unrecorded() -> None:
    value = json.loads(entry(1, "reading", [("e1", *POLICE)], severity=None))
    assert severity_of(DecisionRecord.model_validate(value), {}, OWNERS) == "unrecorded"
    value["rule_version"] = 99
    assert severity_of(DecisionRecord.model_validate(value), RULES, OWNERS) == "unrecorded"


def test_a_recorded_severity_wins_over_the_derived_one() -> None:
    values = [entry(1, "reading", [("e1", *POLICE)], severity="low")]
    assert [f.severity for f in read_ledger(values, OWNERS, RULES).flagged] == ["low"]
    values = [entry(1, "reading", [("e1", *POLICE)], severity=None)]
    assert [f.severity for f in read_ledger(values, OWNERS, RULES).flagged] == ["medium"]
