"""Properties of the flag engine over arbitrary sets of contributions (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from hub.flags import (
    Contribution,
    Status,
    SubjectWindow,
    evaluate,
    expire,
    explain,
    qualifying,
    still_holds,
)
from tests.unit.flags.builders import RULES, T0, TOKEN, built, contributions, sets

NOW = T0 + timedelta(days=120)
_SEARCH = settings(max_examples=2000, phases=[Phase.generate], database=None)  # no shrinking
_moments = st.integers(0, 320).map(lambda d: T0 + timedelta(days=d))


@settings(max_examples=150)
@given(st.data(), sets)
def test_order_of_arrival_does_not_matter(data: st.DataObject, items: list[Contribution]) -> None:
    shuffled = data.draw(st.permutations(items))
    a, b = built(items), built(shuffled)
    assert a.to_bytes() == b.to_bytes()
    assert evaluate(RULES, TOKEN, a, NOW) == evaluate(RULES, TOKEN, b, NOW)


@given(sets, st.data())
def test_adding_a_contribution_again_changes_nothing(
    items: list[Contribution], data: st.DataObject
) -> None:
    window = built(items)
    again = data.draw(st.lists(st.sampled_from(items), max_size=5)) if items else []
    assert built([*items, *again]) == window
    assert SubjectWindow.from_bytes(window.to_bytes()) == window


@given(sets)
def test_reprocessing_reproduces_every_flag_id_and_revision(items: list[Contribution]) -> None:
    first = evaluate(RULES, TOKEN, built(items), NOW)
    replayed = evaluate(RULES, TOKEN, built([*items, *reversed(items)]), NOW)
    assert first == replayed
    assert len({f.flag_id for f in first}) == len(first)


@settings(max_examples=200)
@given(sets)
def test_contributing_events_lie_in_the_window_and_satisfy_the_rule(
    items: list[Contribution],
) -> None:
    by_id = {c.event_id: c for c in items}
    for flag in evaluate(RULES, TOKEN, built(items), NOW):
        rule = RULES.get(flag.rule_id)
        members = [by_id[e.event_id] for e in flag.events]
        assert all(flag.window_start <= c.occurred_at < flag.window_end for c in members)
        assert flag.window_end - flag.window_start == timedelta(days=rule.window_days)
        assert flag.window_start == members[0].occurred_at
        assert len(qualifying(rule, members)) == len(members)
        assert still_holds(rule, members)
        # every qualifying contribution inside the window is a member: nothing is left out
        inside = [c for c, _ in qualifying(rule, items) if flag.window_start <= c.occurred_at]
        inside = [c for c in inside if c.occurred_at < flag.window_end]
        assert {c.event_id for c in inside} == flag.event_ids


@given(sets, _moments)
def test_status_is_expired_exactly_when_now_is_past_the_window(
    items: list[Contribution], now: datetime
) -> None:
    for flag in evaluate(RULES, TOKEN, built(items), now):
        assert (flag.status is Status.EXPIRED) == (now >= flag.window_end)


@settings(max_examples=200)
@given(sets, st.lists(_moments, min_size=1, max_size=3))
def test_expiry_keeps_every_active_flag_and_invents_none(
    items: list[Contribution], moments: list[datetime]
) -> None:
    window = built(items)
    for now in sorted(moments):
        active = [f for f in evaluate(RULES, TOKEN, window, now) if f.status is Status.ACTIVE]
        window = expire(RULES, window, now)
        after = [f for f in evaluate(RULES, TOKEN, window, now) if f.status is Status.ACTIVE]
        assert after == active
        assert all(c.occurred_at >= now - RULES.horizon for c in window.contributions)


@given(sets, st.data())
def test_explanation_shows_only_visible_events_and_allowed_fields(
    items: list[Contribution], data: st.DataObject
) -> None:
    for flag in evaluate(RULES, TOKEN, built(items), NOW):
        members = [c for c in items if c.event_id in flag.event_ids]
        visible = data.draw(st.lists(st.sampled_from(members), unique_by=lambda c: c.event_id))
        names = sorted({n for c in items for n in c.fields} | {"age", "lsoa"})
        allowed = {
            c.event_id: data.draw(st.lists(st.sampled_from(names), unique=True)) for c in visible
        }
        why = explain(flag, visible, RULES.get(flag.rule_id), allowed)
        assert len(why.events) == len(visible)
        seen = sorted(visible, key=lambda c: c.key)
        for shown, source in zip(why.events, seen, strict=True):
            assert (shown.event_type, shown.agency_id) == (source.event_type, source.agency_id)
            assert shown.on == source.occurred_at.date()
            assert set(shown.fields) <= set(source.fields) & set(allowed[source.event_id])
            assert all(shown.fields[n] == source.fields[n] for n in shown.fields)
        assert set(why.agencies_to_ask) == {c.agency_id for c in visible}


@given(contributions())
def test_a_single_contribution_raises_no_multi_agency_flag(item: Contribution) -> None:
    flags = evaluate(RULES, TOKEN, SubjectWindow().add(item), NOW)
    assert all(RULES.get(f.rule_id).conditions.min_agencies == 1 for f in flags)


def test_the_generated_sets_reach_every_shipped_rule() -> None:
    # Guards the properties above against passing vacuously on sets that never flag.
    for rule in RULES.rules:
        found = find(sets, partial(_raises, rule_id=rule.id), settings=_SEARCH)
        assert any(f.rule_id == rule.id for f in evaluate(RULES, TOKEN, built(found), NOW))


def _raises(items: list[Contribution], rule_id: str) -> bool:
    return any(f.rule_id == rule_id for f in evaluate(RULES, TOKEN, built(items), NOW))
