"""The flag engine on worked examples: each shipped rule raises, and stays quiet, as it should."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hub.errors import RuleError
from hub.flags import (
    Contribution,
    FlagState,
    Status,
    SubjectWindow,
    Transition,
    evaluate,
    expire,
    transition,
    transitions,
)
from tests.unit.flags.builders import RULES, T0, TOKEN, contribution


def _window(*items: Contribution) -> SubjectWindow:
    window = SubjectWindow()
    for item in items:
        window = window.add(item)
    return window


def _flags(*items: Contribution, day: float = 100, rule: str | None = None) -> list[FlagState]:
    found = evaluate(RULES, TOKEN, _window(*items), T0 + timedelta(days=day))
    return [f for f in found if rule is None or f.rule_id == rule]


def _at(day: float) -> datetime:
    return T0 + timedelta(days=day)


def test_child_exploitation_needs_missing_screening_and_police_within_90_days() -> None:
    missing = contribution("csc.missing_episode", 0)
    screening = contribution("csc.exploitation_screening", 30)
    police = contribution("police.stop_search", 80)
    [flag] = _flags(missing, screening, police, day=85)
    assert (flag.rule_id, flag.severity, flag.status) == ("child-exploitation", "medium", "active")
    assert [e.event_id for e in flag.events] == [c.event_id for c in (missing, screening, police)]
    assert (flag.window_start, flag.window_end) == (_at(0), _at(90))
    assert _flags(missing, screening, contribution("police.stop_search", 91)) == []
    no_exploitation = contribution(
        "csc.exploitation_screening", 30, exploitation_type="NONE_IDENTIFIED"
    )
    assert _flags(missing, no_exploitation, police) == []


def test_age_range_excludes_adults_and_unknown_ages() -> None:
    events = [
        contribution("csc.missing_episode", 0),
        contribution("csc.exploitation_screening", 1),
    ]
    assert (
        _flags(*events, contribution("police.arrest", 2, age=18), rule="child-exploitation") == []
    )
    assert (
        _flags(*events, contribution("police.arrest", 2, age=None), rule="child-exploitation") == []
    )
    assert (
        len(_flags(*events, contribution("police.arrest", 2, age=17), rule="child-exploitation"))
        == 1
    )


def test_weapon_and_exclusion_within_60_days_escalates_on_a_third_event() -> None:
    weapon = contribution("police.weapon_possession", 0)
    suspension = contribution("education.suspension", 59)
    [flag] = _flags(weapon, suspension, day=59.5)
    assert (flag.rule_id, flag.severity) == ("weapon-and-exclusion", "medium")
    assert _flags(weapon, contribution("education.suspension", 60)) == []
    third = contribution("education.suspension", 30)
    [escalated] = _flags(weapon, suspension, third, day=59.5)
    assert escalated.flag_id == flag.flag_id
    assert escalated.revision != flag.revision
    assert (escalated.severity, escalated.base_severity) == ("high", "medium")
    assert transition(flag, escalated) is Transition.ESCALATED


def test_repeated_violence_needs_three_events_and_two_agencies_in_30_days() -> None:
    police = [contribution("police.violent_incident", d) for d in (0, 5, 10)]
    assert _flags(*police, rule="repeated-violence") == []  # one agency only
    yj = contribution("youth_justice.out_of_court_disposal", 29)
    [flag] = _flags(*police[:2], yj, rule="repeated-violence", day=20)
    assert flag.agencies == ("police", "youth-justice")
    witness = contribution("police.violent_incident", 6, subject_role="WITNESS")
    assert _flags(police[0], witness, yj, rule="repeated-violence") == []


def test_licence_release_must_come_before_police_contact_within_14_days() -> None:
    release = contribution("probation.licence_release", 0, age=19)
    after = contribution("police.arrest", 13.9, age=19)
    [flag] = _flags(release, after, day=5)
    assert flag.rule_id == "licence-release-police-contact"
    before = contribution("police.arrest", -1, age=19)
    assert _flags(before, release, rule="licence-release-police-contact") == []
    late = contribution("police.arrest", 14.5, age=19)
    assert _flags(release, late, rule="licence-release-police-contact") == []
    nothing_found = contribution("police.stop_search", 2, age=19, outcome="NOTHING_FOUND")
    assert _flags(release, nothing_found, rule="licence-release-police-contact") == []


def test_county_lines_is_high_from_the_start() -> None:
    missing = contribution("csc.missing_episode", 0)
    supply = contribution("police.arrest", 3, intent_to_supply=True, offence_group="DRUG_OFFENCES")
    [flag] = _flags(missing, supply, day=4, rule="county-lines")
    assert flag.severity == "high"
    assert _flags(missing, contribution("police.arrest", 3), rule="county-lines") == []


def test_flag_expires_at_the_end_of_its_window() -> None:
    events = (contribution("police.weapon_possession", 0), contribution("education.suspension", 1))
    [active] = _flags(*events, day=59.99)
    [expired] = _flags(*events, day=60)
    assert (active.status, expired.status) == (Status.ACTIVE, Status.EXPIRED)
    assert active.flag_id == expired.flag_id
    assert transition(active, expired) is Transition.EXPIRED
    assert transition(expired, expired) is Transition.UNCHANGED
    assert transition(None, expired) is Transition.EXPIRED
    assert transition(None, active) is Transition.RAISED


def test_a_second_episode_after_the_window_is_a_second_flag() -> None:
    first = (contribution("police.weapon_possession", 0), contribution("education.suspension", 10))
    second = (
        contribution("police.weapon_possession", 70),
        contribution("education.suspension", 75),
    )
    overlapping = contribution("education.suspension", 65)  # after the first window: not joined
    flags = _flags(*first, *second, overlapping, day=80)
    assert [f.window_start for f in flags] == [_at(0), _at(65)]
    assert len({f.flag_id for f in flags}) == 2
    assert overlapping.event_id in flags[1].event_ids


def test_a_late_earlier_event_moves_the_anchor_and_withdraws_the_old_flag() -> None:
    weapon = contribution("police.weapon_possession", 10)
    suspension = contribution("education.suspension", 20)
    before = _flags(weapon, suspension, day=21)
    early = contribution("education.suspension", 5)
    after = _flags(weapon, suspension, early, day=21)
    changes = {(t, f.flag_id) for t, f in transitions(before, after)}
    assert changes == {
        (Transition.RAISED, after[0].flag_id),
        (Transition.WITHDRAWN, before[0].flag_id),
    }


def test_expire_drops_old_contributions_without_inventing_a_flag() -> None:
    # One episode anchored on day 0; events on days 10-70 would satisfy the rule again on their
    # own, but belong to the first window. Once day 0 is dropped they must not become a new flag.
    events = [
        contribution("csc.missing_episode", 0),
        contribution("csc.exploitation_screening", 10),
        contribution("police.arrest", 20),
        contribution("police.arrest", 50),
        contribution("csc.missing_episode", 60),
    ]
    now = _at(95)
    window = _window(*events)
    kept = expire(RULES, window, now)
    assert len(kept) == len(events) - 1
    assert evaluate(RULES, TOKEN, window, now)[0].status is Status.EXPIRED
    assert [f for f in evaluate(RULES, TOKEN, kept, now) if f.status is Status.ACTIVE] == []
    # A genuinely new episode after the first window still flags.
    later = kept.add(contribution("csc.exploitation_screening", 96))
    later = later.add(contribution("police.arrest", 97)).add(
        contribution("csc.missing_episode", 98)
    )
    [new] = [f for f in evaluate(RULES, TOKEN, later, _at(99)) if f.status is Status.ACTIVE]
    assert new.window_start == _at(96)


def test_naive_times_are_refused() -> None:
    naive = datetime(2025, 1, 1)  # noqa: DTZ001  # the point of the test
    with pytest.raises(RuleError):
        evaluate(RULES, TOKEN, SubjectWindow(), naive)
    with pytest.raises(RuleError):
        expire(RULES, SubjectWindow(), naive)


def test_transition_refuses_two_different_flags() -> None:
    a = _flags(contribution("police.weapon_possession", 0), contribution("education.suspension", 1))
    b = _flags(contribution("police.weapon_possession", 2), contribution("education.suspension", 3))
    with pytest.raises(RuleError):
        transition(a[0], b[0])
