"""Whether a flag still holds on what a partnership sees, remembered across dispatches.

A backtest judges the flags a partnership may not see again at every dispatch of their
subject, over the same contribution objects: :func:`hub.remembered.remembered_holds` remembers
:func:`hub.flags.still_holds` by the identities of the rule and the events. It must give the
fresh answer for any subset, a corrected event (the same id, another object) included, and
hold no more than its bounds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub import remembered as rounds_module
from hub.flags import Contribution, still_holds
from hub.remembered import remembered_holds as _still_holds
from hub.rules import Rule, load_rules
from tests.unit.dispatch.test_decider import LIVE, ROOT, SETTINGS, contributions

RULES = [rule for _, rule in load_rules(ROOT / "deploy" / "rules").rules]


def _rule(rule_id: str) -> Rule:
    return next(r for r in RULES if r.id == rule_id)


def _event(n: int, agency: str, event_type: str, age: int) -> Contribution:
    return Contribution(
        event_id=f"e{n}",
        event_type=event_type,
        agency_id=agency,
        occurred_at=LIVE + timedelta(days=n),
        council="E06000038",
        age=age,
    )


@SETTINGS
@given(events=contributions(), data=st.data())
def test_the_remembered_answer_is_the_fresh_one(
    events: list[Contribution], data: st.DataObject
) -> None:
    subsets = data.draw(st.lists(st.sets(st.integers(0, len(events) - 1)), max_size=4))
    for rule in RULES:
        for chosen in subsets:
            subset = [events[n] for n in sorted(chosen)]
            if not subset:
                continue
            expected = still_holds(rule, subset)
            assert _still_holds(rule, subset) is expected
            assert _still_holds(rule, subset) is expected  # remembered
            corrected = [c.model_copy(update={"age": 40}) for c in subset]  # same ids
            assert _still_holds(rule, corrected) is still_holds(rule, corrected)


def test_a_corrected_event_is_judged_afresh() -> None:
    """A weapon and a suspension hold the rule; the suspension corrected to an adult's (the
    same event id, another object) does not, though the ids are the same."""
    rule = _rule("weapon-and-exclusion")
    weapon = _event(0, "police", "police.weapon_possession", 15)
    suspension = _event(1, "education", "education.suspension", 15)
    assert _still_holds(rule, [weapon, suspension]) is True
    adult = suspension.model_copy(update={"age": 30})
    assert _still_holds(rule, [weapon, adult]) is False
    assert _still_holds(rule, [weapon, suspension]) is True


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most _TOLD_MAX entries, the oldest dropped first, and none of more than
    _TOLD_EVENTS_MAX events (an entry holds its events alive)."""
    monkeypatch.setattr(rounds_module, "_TOLD_MAX", 4)
    monkeypatch.setattr(rounds_module, "_TOLD_EVENTS_MAX", 2)
    rounds_module._TOLD.clear()
    rule = _rule("weapon-and-exclusion")
    pairs = [
        [
            _event(n, "police", "police.weapon_possession", 15),
            _event(n + 1, "education", "education.suspension", 15),
        ]
        for n in range(6)
    ]
    for pair in pairs:
        assert _still_holds(rule, pair) is True
    assert len(rounds_module._TOLD) == 4
    kept = [entry[1] for entry in rounds_module._TOLD.values()]
    assert kept == [tuple(pair) for pair in pairs[2:]]  # the newest four
    three = [*pairs[0], _event(9, "police", "police.arrest", 15)]
    assert _still_holds(rule, three) is still_holds(rule, three)
    assert len(rounds_module._TOLD) == 4
    assert all(len(entry[1]) <= 2 for entry in rounds_module._TOLD.values())
    rounds_module._TOLD.clear()
