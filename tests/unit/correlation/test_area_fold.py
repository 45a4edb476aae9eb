"""fold_area's one-copy fold equals the fold it replaced (copy, add, then drop), byte for byte."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.hotspot import AreaState, Hotspot, _judge, fold_area
from hub.models import Event
from hub.rules.area import AreaRule
from tests.unit.sna.test_hotspot import RULES, assault


def _reference(
    state: AreaState, event: Event, rules: tuple[AreaRule, ...]
) -> tuple[AreaState, list[Hotspot]]:
    """The fold as written before: every mapping copied, the event added, then old days and
    ids dropped, the state validated by pydantic."""
    relevant = [r for r in rules if event.event_type in r.event_types]
    if not relevant or event.event_id in state.seen:
        return state, []
    day = event.envelope.occurred_at.date().isoformat()
    days = {t: dict(c) for t, c in state.days.items()}
    days.setdefault(event.event_type, {})[day] = days.get(event.event_type, {}).get(day, 0) + 1
    seen = {**state.seen, event.event_id: day}
    latest = max(d for counts in days.values() for d in counts)
    keep = (
        date.fromisoformat(latest)
        - timedelta(days=max(r.window_days + r.baseline_days for r in rules))
    ).isoformat()
    days = {t: {d: n for d, n in c.items() if d > keep} for t, c in days.items()}
    seen = {i: d for i, d in seen.items() if d > keep}
    since = {**state.since, event.event_type: min(day, state.since.get(event.event_type, day))}
    updated = AreaState(days=days, since=since, seen=seen, raised=dict(state.raised))
    return _judge(updated, relevant, event.envelope.lsoa, date.fromisoformat(latest))


# Days far apart (older than the baseline kept, then far later) and many on one day; an
# event repeated (by its seed) is a redelivery.
_steps = st.lists(st.tuples(st.integers(0, 12), st.integers(0, 900)), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(_steps)
def test_the_fold_equals_the_copy_add_and_drop_fold(steps: list[tuple[int, int]]) -> None:
    mine = theirs = AreaState()
    for seed, day in steps:
        event = assault(seed, day)
        mine, found = fold_area(mine, event, RULES)
        theirs, expected = _reference(theirs, event, RULES)
        assert mine.to_bytes() == theirs.to_bytes()
        assert mine == theirs
        assert found == expected


def test_an_event_older_than_what_is_kept_changes_only_since() -> None:
    """An event dated before the kept days is counted nowhere, nor remembered; its type's
    first day moves back (the area has been observed since then)."""
    state = AreaState()
    for n, day in enumerate((900, 901)):
        state, _ = fold_area(state, assault(n, day), RULES)
    old, found = fold_area(state, assault(7, 0), RULES)
    assert found == []
    assert old.days == state.days
    assert old.seen == state.seen
    assert old.since["health.ed_assault"] < state.since["health.ed_assault"]
    assert old.to_bytes() == _reference(state, assault(7, 0), RULES)[0].to_bytes()


def test_an_event_on_the_last_dropped_day_is_dropped_and_the_next_day_kept() -> None:
    """The kept days are those after ``latest - span``: an event on that very day is counted
    nowhere, one a day later is counted (the boundary random days almost never reach)."""
    span = max(r.window_days + r.baseline_days for r in RULES)
    mine = theirs = AreaState()
    for seed, day in ((0, 900), (1, 900 - span), (2, 901 - span)):
        event = assault(seed, day)
        mine, _ = fold_area(mine, event, RULES)
        theirs, _ = _reference(theirs, event, RULES)
        assert mine.to_bytes() == theirs.to_bytes()
    assert len(mine.seen) == 2
    assert sum(n for counts in mine.days.values() for n in counts.values()) == 2
    assert assault(1, 900 - span).event_id not in mine.seen
