"""Reading the ledger: disclosures by agency, denials by first reason, flags, repeats skipped."""

from __future__ import annotations

from hub.board import agency_of, read_ledger
from tests.unit.board.builders import EDUCATION, EVALUATOR, OWNERS, POLICE, START, entry
from tests.unit.dsa.builders import event


def test_the_agency_is_the_publisher_of_the_type_the_permitting_clause_covers() -> None:
    decision = EVALUATOR.decide(
        event(event_id="e1", agency_id="education", event_type="education.suspension", fields={}),
        "reading",
        START,
    )
    assert decision.permitted
    assert agency_of(decision, OWNERS) == "education"
    assert agency_of(decision, {}) == "unknown"


def test_permits_are_disclosures_denials_count_under_their_first_reason() -> None:
    values = [
        entry(1, "reading", [("e1", *POLICE), ("e2", *EDUCATION)]),
        entry(2, "oxfordshire", [("e1", *POLICE)]),
    ]
    facts = read_ledger(values, OWNERS)
    assert sorted((d.agency, d.partnership) for d in facts.disclosed) == [
        ("education", "reading"),
        ("police", "reading"),
    ]
    assert [(d.reason, d.partnership) for d in facts.denied] == [
        ("outside_geography", "oxfordshire")
    ]
    assert [(f.rule_id, f.severity) for f in facts.flagged] == [
        ("repeated-violence", "medium"),
        ("repeated-violence", "medium"),
    ]
    assert facts.unreadable == 0


def test_a_repeated_decision_counts_once_and_an_unreadable_record_is_counted_apart() -> None:
    first = entry(1, "reading", [("e1", *POLICE)])
    facts = read_ledger([first, first, b"not json", b'{"decision_id": "x"}'], OWNERS)
    assert len(facts.entries) == 1
    assert len(facts.disclosed) == 1
    assert facts.unreadable == 2


def test_a_permitted_event_in_a_denied_entry_is_not_a_disclosure() -> None:
    # The event is permitted on its own, but the entry is a deny: no alert went out with it.
    value = entry(1, "reading", [("e1", *POLICE), ("e2", *POLICE)], adults=frozenset({"e2"}))
    facts = read_ledger([value], OWNERS)
    assert facts.disclosed == []
    assert [(d.event_id, d.reason) for d in facts.denied] == [("e2", "outside_age_scope")]


def test_entries_without_a_recorded_severity_say_so() -> None:
    facts = read_ledger([entry(1, "reading", [("e1", *POLICE)], severity=None)], OWNERS)
    assert [f.severity for f in facts.flagged] == ["unrecorded"]
