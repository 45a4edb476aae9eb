"""An event at the floor is a candidate (:func:`hub.flags.match.episodes`): a floor keeps
the events at or after it, not only those after it."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hub.flags import Contribution
from hub.flags.match import episodes
from tests.unit.flags.builders import RULES, built, sets


@settings(max_examples=300)
@given(sets, st.data())
def test_an_event_at_the_floor_is_a_candidate(
    items: list[Contribution], data: st.DataObject
) -> None:
    """A floor keeps the events at or after it: a floor at one of the window's own times
    gives the episodes of the window without the events before that time."""
    contributions = built(items).contributions
    assume(contributions)
    floor = data.draw(st.sampled_from(contributions)).occurred_at
    kept = [c for c in contributions if c.occurred_at >= floor]
    for rule in RULES.rules:
        assert episodes(rule, contributions, floor) == episodes(rule, kept, None)
