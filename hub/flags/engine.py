"""The flag engine: rules over one subject's window give flag states; expiry trims the window.

Both functions are pure: the same rules, token, window and ``now`` always give the same
result, whatever order the window's contributions arrived in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub.errors import RuleError
from hub.flags.match import Episode, contributing_types, episodes
from hub.flags.state import EventRef, FlagState, Status, flag_id, revision
from hub.flags.window import SubjectWindow
from hub.models.built import built
from hub.rules import Rule, RuleSet


def evaluate(rules: RuleSet, token: str, window: SubjectWindow, now: datetime) -> list[FlagState]:
    """Every flag the window implies, active or expired at ``now``, by rule id then anchor."""
    return states(token, episodes_of(rules, window), now)


def episodes_of(rules: RuleSet, window: SubjectWindow) -> list[tuple[Rule, Episode]]:
    """The window's episodes, by rule id then anchor: :func:`evaluate` before the clock (a
    function of the rules, the contributions and the floors alone)."""
    contributions = window.contributions
    if len(contributions) < rules.least_events or (
        rules.least_agencies > 1
        and len({c.agency_id for c in contributions}) < rules.least_agencies
    ):
        return []  # too few events, or agencies, for any rule: no episode anywhere
    present = {c.event_type for c in contributions}
    floors = window.floors
    return [
        (rule, episode)
        for rule, types in _typed(rules)
        if not types.isdisjoint(present)  # else no episode: skip the work
        for episode in episodes(rule, contributions, floors.get(rule.id))
    ]


def _typed(rules: RuleSet) -> tuple[tuple[Rule, frozenset[str]], ...]:
    """Each rule with the event types it reads, made once per rule set (rule sets are frozen)."""
    if _TYPED[0] is not rules:
        _TYPED[:] = [rules, tuple((r, contributing_types(r)) for r in rules.rules)]
    typed: tuple[tuple[Rule, frozenset[str]], ...] = _TYPED[1]
    return typed


_TYPED: list[Any] = [None, ()]
"""The last rule set :func:`_typed` indexed, and its index (a worker has one rule set)."""


def states(token: str, found: list[tuple[Rule, Episode]], now: datetime) -> list[FlagState]:
    """The flags of :func:`episodes_of`'s episodes for a subject, active or expired at ``now``."""
    if now.tzinfo is None:
        raise RuleError("evaluation time has no time zone")
    return [_state(rule, token, episode, now) for rule, episode in found]


def _state(rule: Rule, token: str, episode: Episode, now: datetime) -> FlagState:
    """The flag of an episode at ``now``: a function of the rule, the token, the episode and
    whether ``now`` is past its end, so remembered per those (the matcher hands out the same
    episode objects while a window's candidates are unchanged: every tick of a backtest, every
    partnership's view with the same events)."""
    status = Status.EXPIRED if now >= episode.end else Status.ACTIVE
    key = (id(rule), token, id(episode), status)
    known = _STATES.get(key)
    if known is not None and known[0] is rule and known[1] is episode:
        return known[2]
    state = _built_state(rule, token, episode, status)
    if len(_STATES) >= _STATES_MAX:
        _STATES.popitem(last=False)  # the oldest
    _STATES[key] = (rule, episode, state)  # held, so that their ids are not reused
    return state


_STATES_MAX = 16384
_STATES: OrderedDict[tuple[int, str, int, Status], tuple[Rule, Episode, FlagState]] = OrderedDict()


def _built_state(rule: Rule, token: str, episode: Episode, status: Status) -> FlagState:
    # Built from validated contributions and rule: nothing to validate again.
    refs = tuple(EventRef.of(c) for c in episode.members)
    return built(
        FlagState,
        {
            "flag_id": flag_id(rule.id, token, episode.anchor),
            "revision": revision(
                rule.version, episode.severity, frozenset(r.event_id for r in refs)
            ),
            "rule_id": rule.id,
            "rule_version": rule.version,
            "severity": episode.severity,
            "base_severity": rule.severity,
            "status": status,
            "window_start": episode.anchor,
            "window_end": episode.end,
            "events": refs,
        },
    )


def expire(rules: RuleSet, window: SubjectWindow, now: datetime) -> SubjectWindow:
    """Drop contributions older than ``now - rules.horizon``, keeping every flag's identity.

    A contribution that old can belong to no active flag. Dropping it could, however, let a
    later anchor inside an expired flag's window satisfy the rule and look like a new flag;
    so each rule's floor is raised to the end of its last flag anchored before the cut (and
    at least to the cut). Flags anchored after the cut are computed exactly as before.
    """
    if now.tzinfo is None:
        raise RuleError("expiry time has no time zone")
    cut = now - rules.horizon
    # Every anchor is a contribution's time: with none before the cut, no episode is anchored
    # before it, and each floor is just raised to the cut (the episodes need not be computed).
    # The contributions are kept in time order, so the first is the earliest.
    contributions = window.contributions
    anchored_before = bool(contributions) and contributions[0].occurred_at < cut
    held = window.floors
    if not anchored_before and _aware(cut) and _under(held, cut, rules):
        # Nothing dropped and every floor at or below the cut: each rule's floor is the cut,
        # the same mapping for every subject expired at ``now`` (made once for them).
        shared = _at_cut(rules, now, cut)
        return built(SubjectWindow, {"contributions": contributions, "floors": shared})
    floors: dict[str, datetime] = {}
    for rule in rules.rules:  # sorted by id, so the floors are too
        previous = held.get(rule.id)
        floor = previous if previous is not None and previous > cut else cut
        if anchored_before:
            for episode in episodes(rule, contributions, previous):
                if episode.anchor < cut:
                    floor = max(floor, episode.end)
        floors[rule.id] = floor
    if not held.keys() <= floors.keys():  # floors of rules no longer in force are kept
        floors = dict(sorted({**held, **floors}.items()))
    if anchored_before or not _aware(cut):
        return window.without_before(cut, floors)
    # Nothing dropped: the contributions are canonical already and every floor is aware
    # (the held ones were validated or set here, the new ones are the cut or an episode's
    # end), so validation would return exactly these values; skip it.
    return built(SubjectWindow, {"contributions": contributions, "floors": floors})


def _aware(moment: datetime) -> bool:
    return moment.utcoffset() is not None


def _under(held: Mapping[str, datetime], cut: datetime, rules: RuleSet) -> bool:
    """Whether every held floor is a rule's in force and none is after the cut."""
    return (not held or max(held.values()) <= cut) and held.keys() <= rules.ids


def _at_cut(rules: RuleSet, now: datetime, cut: datetime) -> Mapping[str, datetime]:
    """Every rule's floor at the cut, in rule order: one mapping per (rule set, ``now``).

    The subjects of one record are expired at one ``now`` (the same object), so they share
    it; as a window's floors are never changed in place, sharing is safe, and the window's
    JSON writes it once for them all (:func:`hub.flags.window.window_json`).
    """
    if _CUT[0] is not rules or _CUT[1] is not now:
        _CUT[:] = [rules, now, {rule.id: cut for rule in rules.rules}]
    shared: Mapping[str, datetime] = _CUT[2]
    return shared


_CUT: list[Any] = [None, None, {}]
"""The rule set and ``now`` :func:`_at_cut` last made floors for, and those floors."""
