"""A window's episodes found from the window before it (``hub.flags.engine._Seen``): along a
subject's windows (events in and out of order, partnerships' views, expiries), with real and
tiny bounds, equal to the plain computation written here; the memo's bounds; and a window
grown by one event asking again only the rules that read it."""

from __future__ import annotations

from datetime import timedelta
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.flags import Contribution, SubjectWindow, engine, episodes_of, expire
from hub.flags.match import Episode, Found, Indexed, found_by
from hub.flags.memo import Bounded
from hub.rules import Rule
from tests.unit.flags.builders import RULES, T0, contribution, sets
from tests.unit.flags.test_fast_paths import _full_labels
from tests.unit.flags.test_incremental import _greedy


def _plain_episodes(rule: Rule, window: SubjectWindow) -> list[Episode]:
    """Every anchor at or after the rule's floor tried with all its members, greedily; each
    contribution labelled by walking the rule's contributors."""
    floor = window.floors.get(rule.id)
    types = {c.type for c in rule.events}
    ordered = [
        (c, names)
        for c in sorted(window.contributions, key=lambda c: c.key)
        if c.event_type in types and (floor is None or c.occurred_at >= floor)
        for names in [_full_labels(rule, c)]
        if names
    ]
    return _greedy(rule, ordered)


def _plain(window: SubjectWindow) -> list[tuple[Rule, Episode]]:
    return [(rule, e) for rule in RULES.rules for e in _plain_episodes(rule, window)]


def _view(window: SubjectWindow, agencies: frozenset[str]) -> SubjectWindow:
    """A partnership's view: the same contribution objects of some agencies, the floors."""
    return SubjectWindow(
        contributions=tuple(c for c in window.contributions if c.agency_id in agencies),
        floors=window.floors,
    )


def _walk(items: list[Contribution], rng: Random) -> None:
    """Add the items one at a time in the order given; after each, the window, a view of it,
    the same window as another object, and at times an expiry, each checked."""
    agencies = sorted({c.agency_id for c in items})
    window = SubjectWindow()
    for item in items:
        window = window.add(item)
        assert episodes_of(RULES, window) == _plain(window)
        if agencies:
            seen = frozenset(rng.sample(agencies, rng.randint(1, len(agencies))))
            view = _view(window, seen)
            assert episodes_of(RULES, view) == _plain(view)
        again = SubjectWindow(contributions=window.contributions, floors=window.floors)
        assert episodes_of(RULES, again) == _plain(again)
        if rng.random() < 0.2:
            # the cut just after a contribution: an episode anchored before it may end
            # after events still to come, which its floor then keeps out
            anchor = rng.choice(window.contributions).occurred_at
            now = anchor + RULES.horizon + timedelta(hours=rng.randint(1, 48))
            window = expire(RULES, window, now)
            assert episodes_of(RULES, window) == _plain(window)


@settings(max_examples=60, deadline=None)
@given(sets, st.randoms(use_true_random=False))
def test_a_subjects_windows_have_the_plain_computations_episodes(
    items: list[Contribution], rng: Random
) -> None:
    """Events mostly in time order (each window grown from the one before), some not."""
    items = sorted(items, key=lambda c: c.key)
    for _ in range(len(items) // 5):  # a few late events
        i, j = rng.randrange(len(items)), rng.randrange(len(items))
        items[i], items[j] = items[j], items[i]
    _walk(items, rng)


@settings(max_examples=40, deadline=None)
@given(sets, st.randoms(use_true_random=False))
def test_with_tiny_bounds_the_episodes_are_the_same(items: list[Contribution], rng: Random) -> None:
    """A memo of four windows and little weight: windows forgotten, or too heavy to keep,
    are found anew, with the same episodes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "_SEEN", Bounded(4, 120))
        patch.setattr(engine, "_SEEN_FROM", 1)  # every window through the memo
        _walk(sorted(items, key=lambda c: c.key), rng)


@settings(max_examples=60, deadline=None)
@given(sets, st.randoms(use_true_random=False))
def test_every_window_through_the_memo_has_the_plain_computations_episodes(
    items: list[Contribution], rng: Random
) -> None:
    """As above with the small windows remembered too (found from the one before)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "_SEEN_FROM", 1)
        test_a_subjects_windows_have_the_plain_computations_episodes.hypothesis.inner_test(
            items, rng
        )


def test_the_windows_remembered_stay_within_their_bounds() -> None:
    """Forty subjects' growing windows through a memo of 8 entries and weight 300: never more
    than either, and a window heavier than half the weight is not kept."""
    bounded: Bounded[tuple[int, int], object] = Bounded(8, 300)
    rng = Random(7)
    kinds = ["police.arrest", "csc.missing_episode", "police.weapon_possession"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "_SEEN", bounded)
        windows = [SubjectWindow() for _ in range(40)]
        for step in range(12):
            for n in range(len(windows)):
                windows[n] = windows[n].add(contribution(rng.choice(kinds), step + n / 100))
                episodes_of(RULES, windows[n])
                assert len(bounded) <= 8
                assert bounded.held() <= 300
        heavy = SubjectWindow()
        for day in range(30):  # 30 events weigh 30 * (1 + 6 rules), past half of 300
            heavy = heavy.add(contribution(rng.choice(kinds), 100 + day))
        before = len(bounded)
        assert episodes_of(RULES, heavy) == _plain(heavy)
        assert len(bounded) <= before
        assert all(seen.contributions is not heavy.contributions for seen in bounded.values())


def test_a_window_grown_by_one_event_asks_only_the_rules_that_read_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A suspension is read by one shipped rule (weapon-and-exclusion): the window grown by
    one is matched for that rule alone; the same events as another window, for none."""
    asked: list[str] = []

    def spy(
        rule: Rule, indexed: Indexed, candidates: tuple[Contribution, ...], before: Found | None
    ) -> Found | None:
        asked.append(rule.id)
        return found_by(rule, indexed, candidates, before)

    monkeypatch.setattr(engine, "found_by", spy)
    monkeypatch.setattr(engine, "_SEEN_FROM", 1)  # windows this small remembered too
    window = SubjectWindow()
    for day, kind in enumerate(
        ["police.weapon_possession", "education.suspension", "csc.missing_episode", "police.arrest"]
    ):
        window = window.add(contribution(kind, day, intent_to_supply=True))
    assert episodes_of(RULES, window) == _plain(window)
    readers = [r.id for r in RULES.rules if "education.suspension" in {c.type for c in r.events}]
    assert readers == ["weapon-and-exclusion"]
    asked.clear()
    grown = window.add(contribution("education.suspension", 5))
    assert episodes_of(RULES, grown) == _plain(grown)
    assert asked == readers
    asked.clear()
    again = SubjectWindow(contributions=grown.contributions, floors=grown.floors)
    assert episodes_of(RULES, again) == _plain(grown)
    assert asked == []


def test_events_in_order_below_a_floor_are_no_rules_candidates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An expiry keeps a flag anchored before its cut (days 0 to 90) from being found again:
    its rule's floor is the flag's end. Events arriving after it, in time order but before
    that end, grow the window: they are not the rule's candidates, and no new flag starts."""
    monkeypatch.setattr(engine, "_SEEN_FROM", 1)  # windows this small remembered too
    kinds = ["csc.missing_episode", "csc.exploitation_screening", "police.violent_incident"]
    window = SubjectWindow()
    for day, kind in enumerate([kinds[-1], *kinds]):
        window = window.add(contribution(kind, day))
    assert [rule.id for rule, _ in episodes_of(RULES, window)] == ["child-exploitation"]
    window = expire(RULES, window, T0 + RULES.horizon + timedelta(hours=12))
    assert len(window) == 3  # the flag's first event dropped, one of each kind left
    assert window.floors["child-exploitation"] == T0 + timedelta(days=90)
    assert episodes_of(RULES, window) == _plain(window) == []
    for day, kind in enumerate(kinds, 4):
        window = window.add(contribution(kind, day))
        assert episodes_of(RULES, window) == _plain(window)
    assert [rule.id for rule, _ in episodes_of(RULES, window)] == []


def test_a_window_of_few_events_is_matched_directly_and_not_remembered() -> None:
    """Below ``_SEEN_FROM`` contributions a window is not remembered; from it, it is."""
    engine._SEEN.clear()
    window = SubjectWindow()
    for day in range(engine._SEEN_FROM):
        window = window.add(contribution("police.weapon_possession", day))
        assert episodes_of(RULES, window) == _plain(window)
        assert len(engine._SEEN) == (len(window) >= engine._SEEN_FROM)
