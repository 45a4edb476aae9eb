"""Explanations: the rule in words, events by type, agency and date, only what may be seen."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.errors import RuleError
from hub.flags import Contribution, FlagState, SubjectWindow, evaluate, explain, still_holds
from tests.unit.flags.builders import RULES, T0, TOKEN, contribution


def _flag_and_events() -> tuple[FlagState, list[Contribution]]:
    events = [
        contribution("csc.missing_episode", 0.6),
        contribution("csc.exploitation_screening", 10),
        contribution("police.arrest", 20, intent_to_supply=False),
    ]
    window = SubjectWindow(contributions=tuple(events))
    [flag] = evaluate(RULES, TOKEN, window, T0 + timedelta(days=21))
    return flag, events


def test_explanation_lists_rule_events_by_date_and_agencies_to_ask() -> None:
    flag, events = _flag_and_events()
    rule = RULES.get("child-exploitation")
    why = explain(flag, events, rule)
    assert (why.title, why.rule_id, why.severity) == (rule.title, rule.id, "medium")
    assert why.text.startswith("Within 90 days this child was reported missing")
    assert [(e.event_type, e.agency_id, e.on) for e in why.events] == [
        ("csc.missing_episode", "childrens-social-care", date(2025, 3, 3)),
        ("csc.exploitation_screening", "childrens-social-care", date(2025, 3, 13)),
        ("police.arrest", "police", date(2025, 3, 23)),
    ]
    assert all(e.fields == {} for e in why.events)
    assert why.agencies_to_ask == ("childrens-social-care", "police")
    assert "including: missing, screening, police contact" in why.conditions
    dumped = why.model_dump_json()
    assert "T" not in dumped.split('"window_from"')[1].split(",")[0]  # a date, not a time
    assert "score" not in dumped
    assert TOKEN not in dumped


def test_fields_appear_only_when_allowed_and_present() -> None:
    flag, events = _flag_and_events()
    arrest = events[2]
    allowed = {arrest.event_id: ["intent_to_supply", "drug_class"]}
    why = explain(flag, events, RULES.get("child-exploitation"), allowed)
    assert [dict(e.fields) for e in why.events] == [{}, {}, {"intent_to_supply": False}]


def test_hidden_events_and_their_agencies_are_left_out() -> None:
    flag, events = _flag_and_events()
    visible = events[:2]
    why = explain(flag, visible, RULES.get("child-exploitation"))
    assert [e.event_type for e in why.events] == [
        "csc.missing_episode",
        "csc.exploitation_screening",
    ]
    assert why.agencies_to_ask == ("childrens-social-care",)


def test_still_holds_on_what_a_partnership_may_see() -> None:
    _, events = _flag_and_events()
    rule = RULES.get("child-exploitation")
    assert still_holds(rule, events)
    assert not still_holds(rule, events[:2])  # no police contact visible
    assert not still_holds(rule, [])


def test_explaining_with_another_rule_is_refused() -> None:
    flag, events = _flag_and_events()
    with pytest.raises(RuleError, match="child-exploitation@1"):
        explain(flag, events, RULES.get("county-lines"))
