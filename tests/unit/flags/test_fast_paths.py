"""The engine's fast paths give exactly what the full computations give (hypothesis).

Each reference below is the straightforward computation the fast path replaced, kept here so
that the two can be compared over random windows: equal values and equal stored bytes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.flags import Contribution, FlagState, SubjectWindow, evaluate, expire
from hub.flags import window as window_module
from hub.flags.engine import _built_state, _state
from hub.flags.match import Episode, _contributors, episodes, labels, qualifying
from hub.flags.state import Status
from hub.flags.window import window_json
from hub.rules import Rule, RuleSet
from tests.unit.flags.builders import (
    CONTRIBUTING,
    RULES,
    T0,
    TOKEN,
    built,
    contribution,
    sets,
)

_moments = st.integers(0, 400 * 24).map(lambda h: T0 + timedelta(hours=h))


def _full_expire(rules: RuleSet, window: SubjectWindow, now: datetime) -> SubjectWindow:
    """Expiry computing every rule's episodes and validating the new window in full; with
    nothing to drop, the window itself."""
    cut = now - rules.horizon
    kept = tuple(c for c in window.contributions if c.occurred_at >= cut)
    if len(kept) == len(window.contributions):
        return window
    floors = dict(window.floors)
    for rule in rules.rules:
        floor = max(cut, window.floor(rule.id) or cut)
        for episode in episodes(rule, window.contributions, window.floor(rule.id)):
            if episode.anchor < cut:
                floor = max(floor, episode.end)
        floors[rule.id] = floor
    return SubjectWindow(contributions=kept, floors=dict(sorted(floors.items())))


@settings(max_examples=400)
@given(sets, st.lists(_moments, min_size=1, max_size=4))
def test_expire_equals_the_full_computation(
    items: list[Contribution], moments: list[datetime]
) -> None:
    """Over successive expiries (so floors are set too), with and without old contributions."""
    window = built(items)
    for now in sorted(moments):
        fast = expire(RULES, window, now)
        full = _full_expire(RULES, window, now)
        assert fast == full
        assert fast.to_bytes() == full.to_bytes()
        assert SubjectWindow.from_bytes(fast.to_bytes()) == fast
        window = fast


@given(sets)
def test_expire_with_nothing_old_gives_the_window_itself(items: list[Contribution]) -> None:
    """Nothing dropped: the same window, floors unchanged (a tick changes no state)."""
    window = built(items)
    first = min((c.occurred_at for c in items), default=T0)
    now = first + RULES.horizon  # the cut falls exactly on the oldest contribution
    assert expire(RULES, window, now) is window


def test_floors_are_written_as_pydantic_writes_them_from_one_window_to_the_next() -> None:
    """A subject's windows share one floors mapping from event to event (remembered by
    identity); equal floors of other windows, and other floors, are still pydantic's."""
    now = T0 + RULES.horizon + timedelta(days=1)
    old = contribution(CONTRIBUTING[0], 0)
    first = expire(RULES, built([old, contribution(CONTRIBUTING[-1], 2)]), now)
    grown = first.add(contribution(CONTRIBUTING[1], 3))
    assert grown.floors is first.floors
    other = expire(RULES, built([old, contribution(CONTRIBUTING[-1], 5)]), now)
    later = expire(RULES, grown, now + timedelta(days=2))
    assert later.floors != first.floors
    for window in (first, grown, other, later, first):
        assert window_json(window) == window.model_dump_json().encode()


def _full_labels(rule: Rule, contribution: Contribution) -> frozenset[str]:
    """Labels by walking every contributor of the rule."""
    age = rule.conditions.age
    if age is not None and not age.contains(contribution.age):
        return frozenset()
    return frozenset(
        c.name
        for c in rule.events
        if c.type == contribution.event_type
        and all(test.matches(contribution.fields) for test in c.where)
    )


@given(sets, st.randoms(use_true_random=False))
def test_qualifying_and_labels_equal_the_full_computation(
    items: list[Contribution], rng: Random
) -> None:
    """Whatever order the contributions come in (a window's, or any other)."""
    shuffled = list(items)
    rng.shuffle(shuffled)
    for rule in RULES.rules:
        full = [(c, _full_labels(rule, c)) for c in sorted(shuffled, key=lambda c: c.key)]
        expected = [(c, names) for c, names in full if names and c.event_type in _types(rule)]
        assert qualifying(rule, shuffled) == expected
        assert qualifying(rule, built(items).contributions) == expected
        assert all(labels(rule, c) == _full_labels(rule, c) for c in items)


def _types(rule: Rule) -> set[str]:
    return {c.type for c in rule.events}


def _full_evaluate(rules: RuleSet, window: SubjectWindow, now: datetime) -> list[FlagState]:
    """Evaluation asking every rule, whether or not the window holds any of its types, each
    flag built afresh."""
    return [
        _built_state(rule, TOKEN, episode, Status.EXPIRED if now >= episode.end else Status.ACTIVE)
        for rule in rules.rules
        for episode in episodes(rule, window.contributions, window.floor(rule.id))
    ]


@given(sets, _moments)
def test_evaluate_equals_asking_every_rule(items: list[Contribution], now: datetime) -> None:
    window = built(items)
    assert evaluate(RULES, TOKEN, window, now) == _full_evaluate(RULES, window, now)
    expired = expire(RULES, window, now)
    assert evaluate(RULES, TOKEN, expired, now) == _full_evaluate(RULES, expired, now)


def test_a_window_is_written_as_pydantic_writes_it_whatever_zone_its_floors_are_in() -> None:
    """Floors' JSON is remembered by value: equal instants in other zones are other bytes."""
    for zone in (UTC, timezone(timedelta(hours=1)), UTC):
        window = SubjectWindow(floors={"r1": T0.astimezone(zone), "r2": T0})
        assert window_json(window) == window.model_dump_json().encode()


def _unremembered(
    rule: Rule, items: Sequence[Contribution], floor: datetime | None
) -> list[Episode]:
    """The rule's episodes over equal contributions that are other objects, computed with
    nothing remembered."""
    _contributors(rule).found.clear()
    return episodes(rule, [c.model_copy() for c in items], floor)


@given(sets, st.lists(_moments, max_size=3), st.randoms(use_true_random=False))
def test_remembered_episodes_equal_episodes_of_fresh_contributions(
    items: list[Contribution], floors: list[datetime], rng: Random
) -> None:
    """Episodes are remembered per rule and candidates: asked again (after a window grew by
    an event, with another floor, or as a view of other events, as many) they are what the
    same contributions as new objects give, and the caller's list is its own."""
    contributions = built(items).contributions
    half = len(contributions) // 2
    views = [contributions, contributions[:half], contributions[-half:]]
    views.append(tuple(c for c in contributions if rng.random() < 0.7))
    for rule in RULES.rules:
        for floor in [None, *floors]:
            expected = [_unremembered(rule, view, floor) for view in views]
            for _ in range(2):  # the second round finds every view remembered
                for view, want in zip(views, expected, strict=True):
                    found = episodes(rule, view, floor)
                    assert found == want
                    found.clear()


def test_two_windows_of_as_many_events_keep_their_own_episodes() -> None:
    """Remembered episodes are told apart by their events, not by how many there are."""
    rule = RULES.get("county-lines")
    early = (
        contribution("csc.missing_episode", 0),
        contribution("police.arrest", 1, intent_to_supply=True),
    )
    late = (
        contribution("csc.missing_episode", 100),
        contribution("police.arrest", 101, intent_to_supply=True),
    )
    first, second = episodes(rule, early, None), episodes(rule, late, None)
    assert [e.anchor for e in first] == [early[0].occurred_at]
    assert [e.anchor for e in second] == [late[0].occurred_at]
    assert episodes(rule, early, None) == first


@given(sets, st.lists(_moments, min_size=1, max_size=4))
def test_remembered_flags_equal_fresh_ones_whatever_the_time(
    items: list[Contribution], moments: list[datetime]
) -> None:
    """A flag is remembered per episode and status: the same episode later, past its end, is
    an expired flag, and the remembered one is the one built afresh, byte for byte."""
    window = built(items)
    for now in moments:
        for rule in RULES.rules:
            for episode in episodes(rule, window.contributions, window.floor(rule.id)):
                status = Status.EXPIRED if now >= episode.end else Status.ACTIVE
                fresh = _built_state(rule, TOKEN, episode, status)
                for _ in range(2):
                    remembered = _state(rule, TOKEN, episode, now)
                    assert remembered == fresh
                    assert remembered.model_dump_json() == fresh.model_dump_json()


@settings(max_examples=200)
@given(sets, st.lists(_moments, max_size=2))
def test_episodes_of_a_window_growing_in_time_order_equal_the_full_matching(
    items: list[Contribution], floors: list[datetime]
) -> None:
    """Events arriving in time order: each rule's episodes are carried from the set before
    (hub.flags.match._grown), and equal what the same contributions as new objects give."""
    ordered = sorted(items, key=lambda c: c.key)
    for rule in RULES.rules:
        for floor in [None, *floors]:
            for size in range(1, len(ordered) + 1):
                grown = ordered[:size]
                fresh = episodes(rule, [c.model_copy() for c in grown], floor)
                assert episodes(rule, grown, floor) == fresh


_texts = st.text(st.characters(codec="utf-8"), max_size=12)


@given(st.lists(st.tuples(_texts, _texts, st.integers(0, 400)), min_size=1, max_size=4))
@settings(max_examples=60)
def test_a_window_of_any_text_is_written_as_pydantic_writes_it(
    items: list[tuple[str, str, int]],
) -> None:
    """Each contribution's JSON comes from its serializer as bytes (not model_dump_json's str
    encoded): quotes, escapes and text beyond ASCII are written byte for byte the same."""
    window = SubjectWindow(
        contributions=tuple(
            Contribution(
                event_id=f"evt-{n}-{value}",
                event_type="police.arrest",
                agency_id="police",
                occurred_at=T0 + timedelta(hours=hours),
                council=value or None,
                lsoa=name,
                fields={name: value, "n": hours, "flag": hours % 2 == 0, "tags": (value, name)},
            )
            for n, (name, value, hours) in enumerate(items)
        )
    )
    assert window_json(window) == window.model_dump_json().encode()


def test_window_json_stays_pydantics_past_the_memos_capacity_and_as_ids_are_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Contributions' JSON is remembered by identity, the oldest forgotten past capacity:
    windows mixing remembered, forgotten and new contributions (several new in one window),
    and new contributions made where dropped ones lived (their ids reused), are written as
    pydantic writes them."""
    monkeypatch.setattr(window_module, "_JSON_CAPACITY", 5)
    monkeypatch.setattr(window_module, "_json", {})
    monkeypatch.setattr(window_module, "_held", OrderedDict())
    kept = [contribution(CONTRIBUTING[n % len(CONTRIBUTING)], n) for n in range(8)]
    for size in (1, 3, 8):
        for start in range(0, 8, 2):
            window = built(kept[start : start + size])
            assert window_json(window) == window.model_dump_json().encode()
            assert len(window_module._held) <= 5
            assert window_module._json.keys() == window_module._held.keys()
    for day in range(20):  # made and dropped: CPython reuses their memory, so their ids
        window = built([contribution(CONTRIBUTING[day % 3], day, age=10 + day), kept[0]])
        assert window_json(window) == window.model_dump_json().encode()
