"""A rule is matched only against windows holding an event of each label its conditions name
(:func:`hub.flags.episodes_of`, :func:`hub.flags.match.needed_types`): the episodes found so
must be every rule's, as matching each rule on every window finds them."""

from __future__ import annotations

from datetime import timedelta
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hub.flags.engine
import hub.flags.match
from hub.flags import Contribution, SubjectWindow, episodes_of
from hub.flags.match import (
    Episode,
    Found,
    Indexed,
    contributing_types,
    episodes,
    found_by,
    needed_types,
)
from hub.models.built import replaced
from hub.rules import FieldValue, Rule, RuleSet
from hub.rules.model import Conditions, Contributor, Sequence
from tests.unit.flags.builders import CONTRIBUTING, RULES, T0, contribution

_VARIED: dict[str, tuple[dict[str, FieldValue], ...]] = {
    "police.arrest": ({}, {"intent_to_supply": True}),
    "voluntary.engagement": ({}, {"stage": "DISENGAGED"}),
}
"""Field values some events take, so that every shipped rule finds episodes in the streams."""


def _stream(seed: int) -> list[Contribution]:
    """12 to 30 contributions of the rules' types (some types left out of a stream) over 200
    days, some of an age that does not qualify."""
    rng = Random(seed)
    types = rng.sample(CONTRIBUTING, rng.randint(2, len(CONTRIBUTING)))
    out = []
    for _ in range(rng.randint(12, 30)):
        event_type = rng.choice(types)
        fields = rng.choice(_VARIED.get(event_type, ({},)))
        age = rng.choice([15, 15, 16, None, 30])
        out.append(contribution(event_type, rng.uniform(0, 200), age=age, **fields))
    return out


def _every_rule(window: SubjectWindow) -> list[tuple[Rule, Episode]]:
    """What :func:`episodes_of` finds, by definition: every rule matched on the window."""
    floors = window.floors
    return [
        (rule, episode)
        for rule in RULES.rules
        for episode in episodes(rule, window.contributions, floors.get(rule.id))
    ]


@pytest.mark.parametrize("seed", range(60))
def test_every_window_of_a_stream_finds_every_rules_episodes(seed: int) -> None:
    """Each window a random stream grows through (arrival order, not time order), with and
    without a floor on each rule, has the episodes of every rule matched on it."""
    rng = Random(seed)
    window = SubjectWindow()
    for added in _stream(seed):
        window = window.add(added)
        assert episodes_of(RULES, window) == _every_rule(window)
        cut = T0 + timedelta(days=rng.uniform(0, 150))
        floored = replaced(window, floors={r.id: cut for r in RULES.rules if rng.random() < 0.5})
        assert episodes_of(RULES, floored) == _every_rule(floored)


def test_the_streams_reach_episodes_and_skip_rules() -> None:
    """The streams above find episodes of every shipped rule (the comparison is not between
    empty answers), and lack some rule's needed types in many windows (it is not vacuous)."""
    found: set[str] = set()
    lacking = 0
    for seed in range(60):
        window = SubjectWindow()
        for added in _stream(seed):
            window = window.add(added)
            found |= {rule.id for rule, _ in episodes_of(RULES, window)}
            present = {c.event_type for c in window.contributions}
            lacking += any(
                present.isdisjoint(types) for rule in RULES.rules for types in needed_types(rule)
            )
    assert found == RULES.ids
    assert lacking > 100


def test_needed_types_are_each_named_labels_types() -> None:
    """Per label of ``require`` and of each sequence, the types of the contributors that
    carry it; a label named twice counts once."""
    for rule in RULES.rules:
        cond = rule.conditions
        names = list(
            dict.fromkeys([*cond.require, *(n for s in cond.sequence for n in (s.first, s.then))])
        )
        expected = tuple(frozenset(c.type for c in rule.events if c.name == name) for name in names)
        assert needed_types(rule) == expected
        assert all(expected), rule.id  # the shipped rules define every label they name
    county = RULES.get("county-lines")
    assert set(needed_types(county)) == {
        frozenset({"csc.missing_episode"}),
        frozenset({"police.arrest"}),
    }


@pytest.mark.parametrize("seen_from", [1, hub.flags.engine._SEEN_FROM])
def test_a_rule_lacking_a_labels_types_is_not_matched(
    monkeypatch: pytest.MonkeyPatch, seen_from: int
) -> None:
    """Arrests with intent to supply from two agencies' views but no missing episode: the
    county-lines rule, whose ``missing`` label only a missing episode carries, is not matched
    at all (it was, finding nothing, before the needed types were checked). So whether the
    windows are remembered (``_SEEN_FROM``) or, small, matched directly."""
    matched: list[str] = []

    def spy(
        rule: Rule,
        indexed: Indexed,
        candidates: tuple[Contribution, ...],
        before: Found | None,
    ) -> Found | None:
        matched.append(rule.id)
        return found_by(rule, indexed, candidates, before)

    monkeypatch.setattr(hub.flags.engine, "found_by", spy)
    monkeypatch.setattr(hub.flags.match, "found_by", spy)  # small windows: episodes_by's
    monkeypatch.setattr(hub.flags.engine, "_SEEN_FROM", seen_from)
    window = SubjectWindow()
    for day, event_type in enumerate(["police.arrest", "police.arrest", "voluntary.engagement"]):
        window = window.add(contribution(event_type, day, intent_to_supply=True))
    assert episodes_of(RULES, window) == []
    assert "county-lines" not in matched
    assert matched  # other rules reading arrests are still matched
    window = window.add(contribution("csc.missing_episode", 1.5))
    matched.clear()
    assert [rule.id for rule, _ in episodes_of(RULES, window)] == ["county-lines"]
    assert "county-lines" in matched


def test_a_rule_naming_no_label_is_matched_on_its_types() -> None:
    """A rule whose conditions name no label (counts alone) needs only one of its types."""
    shipped = RULES.get("repeated-violence")
    counts_only = shipped.model_copy(
        update={"conditions": shipped.conditions.model_copy(update={"require": ()})}
    )
    rules = RuleSet([counts_only])
    assert needed_types(counts_only) == ()
    window = SubjectWindow()
    for day, event_type in enumerate(
        ["police.violent_incident", "youth_justice.court_outcome", "police.violent_incident"]
    ):
        window = window.add(contribution(event_type, day))
    found = episodes_of(rules, window)
    assert [rule.id for rule, _ in found] == ["repeated-violence"]
    assert found == [(counts_only, e) for e in episodes(counts_only, window.contributions, None)]


def test_the_rules_remembered_per_set_of_types_are_bounded_and_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rules each set of types may match are remembered per set, at most
    ``_MATCHABLE_MAX`` sets (here 2): windows of five different sets of types, each
    evaluated twice, find the rules that needed types allow and the episodes of matching
    each of those rules directly, and never more than two sets are held.

    The memo starts empty: filled by earlier tests in the same process (under the real
    bound), a set found there was never added again, and the bound was never applied."""
    monkeypatch.setattr(hub.flags.engine, "_MATCHABLE_MAX", 2)
    monkeypatch.setattr(hub.flags.engine, "_NEEDED", [None, (), {}, {}])
    kinds = [
        ("police.arrest", "police.arrest", "csc.missing_episode"),
        ("police.violent_incident", "police.weapon_possession", _DISPOSAL_TYPE),
        ("police.arrest", "voluntary.engagement", "police.arrest"),
        ("police.violent_incident", "youth_justice.court_outcome", "police.violent_incident"),
        ("education.suspension", "csc.missing_episode", "police.stop_search"),
    ]
    for _ in range(2):
        for types in kinds:
            window = SubjectWindow()
            for day, event_type in enumerate(types):
                window = window.add(contribution(event_type, day, intent_to_supply=True, age=16))
            present = frozenset(types)
            allowed = [
                rule
                for rule in RULES.rules
                if all(present & n for n in needed_types(rule) or (contributing_types(rule),))
            ]
            chosen = hub.flags.engine._matchable(RULES, present)
            assert [rule for _, rule, _ in chosen] == allowed
            assert episodes_of(RULES, window) == [
                (rule, episode)
                for rule in allowed
                for episode in episodes(rule, window.contributions, None)
            ]
            assert len(hub.flags.engine._NEEDED[2]) <= 2


_DISPOSAL_TYPE = "youth_justice.out_of_court_disposal"


_TYPES = ("police.arrest", "csc.missing_episode", "education.suspension", "police.stop_search")
"""Four types of three agencies, for rules made up below (no ``where`` tests)."""
_LABELS = ("a", "b", "c", "ghost")
"""Labels contributors may carry, and one no contributor carries (``ghost``)."""


@st.composite
def _made_up_rule(draw: st.DrawFn) -> Rule:
    """Any rule the model allows over :data:`_TYPES`: contributors sharing labels or
    unlabelled, ``require`` and sequences naming any label (one only in a sequence, one no
    contributor carries), counts and agencies above one."""
    contributors = draw(
        st.lists(
            st.builds(
                Contributor,
                type=st.sampled_from(_TYPES),
                label=st.sampled_from([None, *_LABELS[:3]]),
            ),
            min_size=1,
            max_size=4,
        )
    )
    names = sorted({c.name for c in contributors} | {"ghost"})
    label = st.sampled_from(names)
    conditions = Conditions(
        min_events=draw(st.integers(1, 3)),
        min_agencies=draw(st.integers(1, 2)),
        require=tuple(draw(st.lists(label, max_size=2))),
        sequence=tuple(
            draw(
                st.lists(
                    st.builds(Sequence, first=label, then=label, within_days=st.just(30)),
                    max_size=2,
                )
            )
        ),
    )
    return Rule(
        id="made-up",
        version=1,
        title="A made-up rule",
        explanation="A rule made up to test the needed types on any shape.",
        severity="low",
        window_days=draw(st.sampled_from([20, 60, 400])),
        events=tuple(contributors),
        conditions=conditions,
    )


@settings(max_examples=150, deadline=None)
@given(_made_up_rule(), st.lists(st.tuples(st.sampled_from(_TYPES), st.floats(0, 90)), max_size=9))
def test_any_rule_the_model_allows_finds_its_episodes_on_every_window(
    rule: Rule, arrivals: list[tuple[str, float]]
) -> None:
    """The needed types are a necessary condition for every rule shape, not only the
    shipped rules' (in which every label is required and defined): a window grown by any
    arrivals has the episodes of matching the rule itself."""
    rules = RuleSet([rule])
    window = SubjectWindow()
    for event_type, day in arrivals:
        window = window.add(contribution(event_type, day))
        expected = [(rule, e) for e in episodes(rule, window.contributions, None)]
        assert episodes_of(rules, window) == expected
