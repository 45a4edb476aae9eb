"""A window of one event through the episodes' memo (``_SEEN_FROM`` lowered to 1): a rule
that one event satisfies finds its episode, and no window before it is looked for (there is
none: the look-up by the one before the last would index past the window's start)."""

from __future__ import annotations

import pytest

from hub.flags import SubjectWindow, engine, episodes_of
from hub.rules import RuleSet
from tests.unit.flags.builders import RULES, contribution


def test_a_one_event_rule_on_a_one_event_window_is_found_through_the_memo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shipped = RULES.get("repeated-violence")
    one = shipped.model_copy(
        update={
            "conditions": shipped.conditions.model_copy(
                update={"require": (), "min_events": 1, "min_agencies": 1, "sequence": ()}
            )
        }
    )
    rules = RuleSet([one])
    assert rules.least_events == 1
    monkeypatch.setattr(engine, "_SEEN_FROM", 1)
    engine._SEEN.clear()
    window = SubjectWindow().add(contribution("police.violent_incident", 0))
    found = episodes_of(rules, window)
    assert [rule.id for rule, _ in found] == ["repeated-violence"]
    assert len(engine._SEEN) == 1  # remembered, as every window is from _SEEN_FROM
    grown = window.add(contribution("police.violent_incident", 1))
    through_memo = episodes_of(rules, grown)  # grown from the one-event window remembered
    monkeypatch.setattr(engine, "_SEEN_FROM", 100)
    assert through_memo == episodes_of(rules, grown)  # matched directly
    assert through_memo
