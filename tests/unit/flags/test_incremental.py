"""Matching carried over and bounded (``hub.flags.match``, ``hub.flags.memo``): the episodes
of a window grown by one event (one window tried), the greedy pass skipping windows inside
one that did not hold, the sequence test by search, and the memos' bounds, each against the
plain computation written here (every anchor, every pair)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.flags import Contribution, engine, episodes, match
from hub.flags.match import Episode, Labelled, qualifying, severity
from hub.flags.memo import Bounded
from hub.rules import Rule
from hub.rules.model import Conditions, Contributor, Threshold
from hub.rules.model import Sequence as Ordering
from tests.unit.flags.builders import RULES, T0, contribution
from tests.unit.flags.test_fast_paths import _full_labels as _plain_labels

_TYPES = ("police.arrest", "csc.missing_episode", "education.suspension", "police.stop_search")
"""Four types of three agencies, for rules made up below (no ``where`` tests)."""
_DISPOSAL = "youth_justice.out_of_court_disposal"


def _plain_holds(rule: Rule, members: Sequence[Labelled]) -> bool:
    """Every condition, read as ``docs/rules.md`` states it (every pair for a sequence)."""
    cond = rule.conditions
    names = set().union(*(n for _, n in members))
    return (
        len(members) >= cond.min_events
        and len({c.agency_id for c, _ in members}) >= cond.min_agencies
        and names.issuperset(cond.require)
        and all(
            any(
                timedelta(0) < b.occurred_at - a.occurred_at <= timedelta(days=s.within_days)
                for a, first in members
                if s.first in first
                for b, then in members
                if s.then in then
            )
            for s in cond.sequence
        )
    )


def _plain(rule: Rule, items: Iterable[Contribution], floor: datetime | None) -> list[Episode]:
    """The greedy episodes, every anchor tried with all its members."""
    ordered = qualifying(rule, [c for c in items if floor is None or c.occurred_at >= floor])
    return _greedy(rule, ordered)


def _greedy(rule: Rule, ordered: Sequence[Labelled]) -> list[Episode]:
    """The greedy episodes of labelled contributions in order: every anchor tried with all
    its members (shared with ``test_seen``'s plain computation)."""
    width = timedelta(days=rule.window_days)
    found: list[Episode] = []
    allowed: datetime | None = None
    for i, (anchor, _) in enumerate(ordered):
        start = anchor.occurred_at
        if allowed is not None and start < allowed:
            continue
        members = [m for m in ordered[i:] if m[0].occurred_at < start + width]
        if _plain_holds(rule, members):
            found.append(
                Episode(start, start + width, tuple(c for c, _ in members), severity(rule, members))
            )
            allowed = start + width
    return found


# The strategies that do not depend on a draw, built once (flags/builders.py says why).
_CONTRIBUTORS = st.lists(
    st.builds(Contributor, type=st.sampled_from(_TYPES), label=st.sampled_from([None, "a", "b"])),
    min_size=1,
    max_size=4,
)
_MIN_EVENTS = st.integers(1, 4)
_MIN_AGENCIES = st.integers(1, 2)
_WITHIN_DAYS = st.integers(1, 20)
_WINDOW_DAYS = st.sampled_from([3, 10, 30])


@st.composite
def _rules(draw: st.DrawFn) -> Rule:
    """A rule of any shape over :data:`_TYPES`: shared labels, sequences, counts, agencies."""
    contributors = draw(_CONTRIBUTORS)
    label = st.sampled_from(sorted({c.name for c in contributors}))
    sequence = st.builds(Ordering, first=label, then=label, within_days=_WITHIN_DAYS)
    conditions = Conditions(
        min_events=draw(_MIN_EVENTS),
        min_agencies=draw(_MIN_AGENCIES),
        require=tuple(draw(st.lists(label, max_size=2, unique=True))),
        sequence=tuple(draw(st.lists(sequence, max_size=2))),
    )
    return Rule(
        id="made-up",
        version=1,
        title="A made-up rule",
        explanation="A rule made up to test matching carried over on any shape.",
        severity="low",
        window_days=draw(_WINDOW_DAYS),
        events=tuple(contributors),
        conditions=conditions,
    )


_arrivals = st.lists(st.tuples(st.sampled_from(_TYPES), st.integers(0, 60 * 24)), max_size=24)
"""Events by type and minute of 60 days: windows of a few days hold several."""


@settings(max_examples=300, deadline=None)
@given(_rules(), _arrivals, st.sampled_from([None, 5, 20]))
def test_a_window_growing_in_time_order_has_the_plain_greedy_episodes(
    rule: Rule, arrivals: list[tuple[str, int]], floor_day: int | None
) -> None:
    """Each set grown by an event later than all of them is carried over (one window
    tried) and equals the greedy pass over every anchor; so does the same set matched afresh
    (other objects), which takes the greedy pass with its skips."""
    floor = None if floor_day is None else T0 + timedelta(days=floor_day)
    items = sorted(
        (contribution(t, minute / (24 * 60)) for t, minute in arrivals), key=lambda c: c.key
    )
    for size in range(1, len(items) + 1):
        want = _plain(rule, items[:size], floor)
        assert episodes(rule, items[:size], floor) == want
        assert episodes(rule, [c.model_copy() for c in items[:size]], floor) == want


def test_the_grown_windows_are_carried_over_not_matched_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Repeated violence over 100 events a day apart, in time order: after the first set
    enough for the rule, every set is carried over from the one before (none is matched in
    full), and the episodes are the plain greedy ones, several of them."""
    rule = RULES.get("repeated-violence")
    types = ("police.violent_incident", "police.weapon_possession", _DISPOSAL)
    items = [contribution(types[i % 3], i * 1.0, age=16) for i in range(100)]
    full: list[int] = []
    matched = match._matched

    def counted(rule: Rule, candidates: list[Contribution]) -> match._Found:
        full.append(len(candidates))
        return matched(rule, candidates)

    monkeypatch.setattr(match, "_matched", counted)
    for size in range(1, len(items) + 1):
        assert episodes(rule, items[:size], None) == _plain(rule, items[:size], None)
    assert len(full) == 1
    assert len(episodes(rule, items, None)) >= 3


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["a", "b", "ab", ""])), max_size=14),
    st.integers(0, 12),
)
def test_the_sequence_test_finds_what_every_pair_finds(
    events: list[tuple[int, str]], within_days: int
) -> None:
    """``first`` followed by ``then`` strictly later and at most ``within`` after: found by a
    search per end as by trying every pair, equal times and ties at the bound included."""
    members = [
        (contribution("police.arrest", day), frozenset(names))
        for day, names in sorted(events, key=lambda e: e[0])
    ]
    within = timedelta(days=within_days)
    for first, then in [("a", "b"), ("b", "a"), ("a", "a")]:
        plain = any(
            timedelta(0) < b.occurred_at - a.occurred_at <= within
            for a, x in members
            if first in x
            for b, y in members
            if then in y
        )
        assert match._followed(members, first, then, within) is plain


def test_a_subject_sent_thousands_of_events_holds_a_bounded_memo() -> None:
    """3,000 events of one subject in a month, in time order: each rule's memo of episodes
    holds at most its budget of candidates in all (the older generation forgotten whole),
    the last set is still carried over from the one before, and the episodes are right."""
    rule = RULES.get("repeated-violence")
    types = ("police.violent_incident", "police.weapon_possession", _DISPOSAL)
    items = [contribution(types[i % 3], i / 100, age=16) for i in range(3000)]
    memo = match._contributors(rule).found
    for size in range(1, len(items) + 1):
        episodes(rule, items[:size], None)
        assert memo.held() <= match._FOUND_WEIGHT
    assert memo.get(tuple(map(id, items[:-1]))) is not None  # the set before: carried over
    assert episodes(rule, items, None) == _plain(rule, items, None)


def test_the_bounded_memo_forgets_its_older_generation_whole() -> None:
    """Half the entries, or half the weight, make a generation: the newer full, the older
    is forgotten whole and the newer takes its place; an entry found in the older is copied
    into the newer; an entry heavier than half the budget is not kept; a key put again is
    weighed once."""
    memo: Bounded[str, int] = Bounded(entries=6, weight=20)
    for key in "abc":
        memo.put(key, ord(key), 2)
    assert (len(memo), memo.held()) == (3, 6)
    memo.put("d", 4, 2)  # the newer holds three: it becomes the older
    assert (sorted(memo._new), sorted(memo._old), memo.held()) == (["d"], ["a", "b", "c"], 8)
    assert memo.get("a") == ord("a")  # found in the older: copied into the newer
    assert (sorted(memo._new), sorted(memo._old), memo.held()) == (["a", "d"], ["a", "b", "c"], 10)
    memo.put("e", 5, 2)
    assert (sorted(memo._new), memo.held()) == (["a", "d", "e"], 12)
    memo.put("g", 3, 2)  # the newer full: the older (b and c, and a's first copy) goes
    assert (sorted(memo._new), sorted(memo._old), memo.held()) == (["g"], ["a", "d", "e"], 8)
    assert [memo.get(k) for k in "bcg"] == [None, None, 3]
    memo.put("g", 7, 1)  # the same key again: its old weight no longer counts
    assert (memo.get("g"), len(memo), memo.held()) == (7, 4, 7)
    memo.put("f", 6, 10)  # 1 + 10 > 20 // 2: a new generation, for the weight
    assert (sorted(memo._new), sorted(memo._old), memo.held()) == (["f"], ["g"], 11)
    memo.put("g", 8, 11)  # heavier than half the budget: not kept, nor its older value
    assert (memo.get("g"), len(memo), memo.held()) == (None, 1, 10)
    memo.clear()
    assert (memo.get("f"), len(memo), memo.held()) == (None, 0, 0)


@pytest.mark.parametrize("seed", range(40))
def test_random_bounded_memos_keep_their_bounds_and_their_recent_entries(seed: int) -> None:
    """Random puts and lookups against a plain record of every put: never more entries or
    weight than the bounds (the weight counted is the entries' own), never a value but the
    last one put for its key, and every key put (or copied into the newer generation) in the
    last ``entries // 2`` such steps, while their weights fit half the budget, is still there."""
    rng = Random(seed)
    memo: Bounded[int, int] = Bounded(entries=rng.randint(1, 12), weight=rng.randint(5, 60))
    last: dict[int, tuple[int, int]] = {}
    inserted: list[tuple[int, int]] = []  # every put, and every entry copied into the newer
    for step in range(300):
        key = rng.randint(0, 14)
        if rng.random() < 0.3:
            copied = key not in memo._new and dict.get(memo._old, key) is not None
            assert memo.get(key) in (None, last.get(key, (None,))[0])
            if copied:
                inserted.append((key, last[key][1]))
            continue
        weight = rng.randint(0, 12)
        memo.put(key, step, weight)
        last[key] = (step, weight)
        inserted.append((key, weight))
        assert len(memo) <= memo.entries
        assert memo.held() <= memo.weight
        generations = (memo._new, memo._old)
        assert memo.held() == sum(sum(g.weights.values()) for g in generations)
        assert all(g.keys() == g.weights.keys() for g in generations)
        recent, weighed = set(), 0
        for recent_key, recent_weight in reversed(inserted[len(inserted) - memo.entries // 2 :]):
            weighed += recent_weight
            if weighed > memo.weight // 2:
                break
            recent.add(recent_key)
        for recent_key in recent:
            assert (
                dict.get(memo._new, recent_key, dict.get(memo._old, recent_key))
                == (last[recent_key][0])
            )


def test_a_memo_of_one_entry_keeps_none() -> None:
    """Half of one entry is none: a memo bounded to one keeps nothing (two would be more)."""
    memo: Bounded[str, int] = Bounded(entries=1, weight=10)
    memo.put("a", 1, 1)
    assert (memo.get("a"), len(memo), memo.held()) == (None, 0, 0)


def test_labelling_keeps_no_contribution_and_answers_alike_each_time() -> None:
    """A rule's labels are found afresh (no memo by contribution since 2026-12-07): 3,000
    contributions labelled twice over give the same labels both times, those of the plain
    reading of the rule, and none of them is held once the caller drops it."""
    rule = RULES.get("repeated-violence")
    items = [
        contribution(_DISPOSAL, i / 100, **({} if i % 3 else {"offence_group": "THEFT"}))
        for i in range(3000)
    ]
    first = [match.labels(rule, item) for item in items]
    assert first == [match.labels(rule, item) for item in items]
    assert first == [_plain_labels(rule, item) for item in items]
    assert {frozenset()} < set(first)  # some qualify, some (of another offence group) do not
    watched = [weakref.ref(item) for item in items]
    del items
    gc.collect()
    assert all(ref() is None for ref in watched)


def test_every_condition_is_one_that_more_members_keep() -> None:
    """Carrying over tries one window and the greedy pass skips nested ones only because a
    rule that holds on some members holds on more: every condition the rules can state is a
    minimum (a ``max_events`` or an absence test would break both, so adding one must come
    with a matching that does not rely on it)."""
    assert set(Conditions.model_fields) == {
        "min_events",
        "min_agencies",
        "require",
        "age",
        "sequence",
    }
    assert set(Threshold.model_fields) == {"min_events", "min_agencies"}


def test_an_event_exactly_one_window_after_an_anchor_is_not_its_member() -> None:
    """Carried over, the first anchor whose window reaches the new event is strictly less
    than a window before it: an anchor exactly ``window_days`` earlier does not take it (so
    the arrest's window holds one event and the suspension's holds both)."""
    rule = Rule(
        id="made-up",
        version=1,
        title="A made-up rule",
        explanation="An event exactly one window after an anchor is not its member.",
        severity="low",
        window_days=3,
        events=(
            Contributor(type="police.arrest"),
            Contributor(type="education.suspension"),
            Contributor(type="csc.missing_episode", label="b"),
        ),
        conditions=Conditions(min_events=2, min_agencies=2, require=("b",)),
    )
    items = [
        contribution("police.arrest", 0),
        contribution("education.suspension", 1),
        contribution("csc.missing_episode", 3),
    ]
    for size in range(1, 4):
        episodes(rule, items[:size], None)
    assert [e.anchor for e in episodes(rule, items, None)] == [T0 + timedelta(days=1)]
    assert episodes(rule, items, None) == _plain(rule, items, None)


def test_the_memo_budget_counts_the_candidates_its_entries_hold() -> None:
    """The bound is on what the entries hold, not on a count the memo keeps of itself: the
    candidates of every remembered episode set, summed, stay within the budget."""
    rule = RULES.get("repeated-violence")
    types = ("police.violent_incident", "police.weapon_possession", _DISPOSAL)
    items = [contribution(types[i % 3], i / 100, age=16) for i in range(1500)]
    memo = match._contributors(rule).found
    for size in range(1, len(items) + 1):
        episodes(rule, items[:size], None)
    held = sum(len(found.candidates) for found in memo.values())
    assert 0 < held <= match._FOUND_WEIGHT


def test_the_remembered_flags_are_bounded_by_the_members_they_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flags remembered per episode (``hub.flags.engine``) hold their members' event
    references: 400 events of one subject, each set's flag made (about 80,000 members in
    all), keep at most the budget of members in all (here 2^14, a sixteenth of the real
    one, so that the test is quick), not one flag per set of up to 400 members each."""
    rule = RULES.get("repeated-violence")
    types = ("police.violent_incident", "police.weapon_possession", _DISPOSAL)
    items = [contribution(types[i % 3], i / 100, age=16) for i in range(400)]
    engine._STATES.clear()
    monkeypatch.setattr(engine._STATES, "weight", 1 << 14)
    for size in range(1, len(items) + 1):
        found = [(rule, e) for e in episodes(rule, items[:size], None)]
        assert len(engine.states("t", found, T0 + timedelta(days=400))) == len(found)
    held = sum(len(episode.members) for _, episode, _ in engine._STATES.values())
    assert 0 < held <= 1 << 14
    engine._STATES.clear()
