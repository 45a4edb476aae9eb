"""The flag engine: rules over one subject's window give flag states; expiry trims the window.

Both functions are pure: the same rules, token, window and ``now`` always give the same
result, whatever order the window's contributions arrived in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from operator import attrgetter, is_
from typing import Any

from hub.errors import RuleError
from hub.flags.contribution import Contribution
from hub.flags.match import (
    Episode,
    Found,
    Indexed,
    contributing_types,
    contributors,
    episodes,
    episodes_by,
    found_by,
    needed_types,
)
from hub.flags.memo import Bounded
from hub.flags.state import EventRef, FlagState, Status, flag_id, revision
from hub.flags.window import SubjectWindow
from hub.models.built import built
from hub.rules import Rule, RuleSet


def evaluate(rules: RuleSet, token: str, window: SubjectWindow, now: datetime) -> list[FlagState]:
    """Every flag the window implies, active or expired at ``now``, by rule id then anchor."""
    return states(token, episodes_of(rules, window), now)


def episodes_of(rules: RuleSet, window: SubjectWindow) -> list[tuple[Rule, Episode]]:
    """The window's episodes, by rule id then anchor: :func:`evaluate` before the clock (a
    function of the rules, the contributions and the floors alone).

    What is found over a window is remembered by its last contribution and its length
    (:class:`_Seen`), so a window that grew by one event at the end (the next event's
    window, a partnership's view with it) is found from the one before: each rule's
    candidates are those before, with the new event when it is one, and a rule whose
    candidates did not change keeps its episodes without a look-up. The same window again
    (another view with the same events) is found at once. A window of fewer than
    :data:`_SEEN_FROM` contributions is matched directly (its scans cost less than the
    memo's upkeep) and not remembered.
    """
    contributions = window.contributions
    count = len(contributions)
    if count < rules.least_events or not count:
        return []  # too few events for any rule: no episode anywhere
    floors = window.floors
    if count < _SEEN_FROM:  # scanning a few events costs less than remembering them
        if (
            rules.least_agencies > 1
            and len(set(map(_AGENCY, contributions))) < rules.least_agencies
        ):
            return []  # too few agencies for any rule
        return [
            (rule, episode)
            for _, rule, indexed in _matchable(rules, frozenset(map(_TYPE, contributions)))
            for episode in episodes_by(rule, indexed, contributions, floors.get(rule.id))
        ]
    key = (id(contributions[-1]), count)
    seen = _SEEN.get(key)
    if seen is None or not seen.fits(rules, contributions, floors):
        before = _SEEN.get((id(contributions[-2]), count - 1)) if count > 1 else None
        if before is not None and before.fits(rules, contributions, floors):
            seen = before.grown(contributions)
        else:
            seen = _Seen.of(rules, contributions, floors)
        _SEEN.put(key, seen, count * (1 + len(seen.candidates)))
    return list(seen.found)


class _Seen:
    """What :func:`episodes_of` found over one window: per rule (in rule order), its
    candidates (its types' contributions at or after its floor, None until a window needs
    them) and what matching found over them (:func:`hub.flags.match.found_by`; ``done``
    says whether it was asked), and the episodes of all. It holds the window's
    contributions, so that its key (the last one's id) stays theirs."""

    __slots__ = (
        "agencies",
        "candidates",
        "contributions",
        "done",
        "floors",
        "found",
        "matched",
        "rules",
        "types",
    )

    def __init__(
        self,
        rules: RuleSet,
        contributions: tuple[Contribution, ...],
        floors: Mapping[str, datetime],
        *,
        agencies: frozenset[str],
        types: frozenset[str],
        candidates: list[tuple[Contribution, ...] | None],
        matched: list[Found | None],
        done: list[bool],
    ) -> None:
        self.rules = rules
        self.contributions = contributions
        self.floors = floors
        self.agencies = agencies
        self.types = types
        self.candidates = candidates
        self.matched = matched
        self.done = done
        self.found: tuple[tuple[Rule, Episode], ...] = ()

    def fits(
        self,
        rules: RuleSet,
        contributions: tuple[Contribution, ...],
        floors: Mapping[str, datetime],
    ) -> bool:
        """Whether this was found over the first of these contributions (the same objects,
        as many as the memo's key says: it holds the count), with these rules and floors
        equal to these."""
        held = self.contributions
        return (
            self.rules is rules
            and (self.floors is floors or self.floors == floors)
            and (held is contributions or all(map(is_, held, contributions)))
        )

    @classmethod
    def of(
        cls, rules: RuleSet, contributions: tuple[Contribution, ...], floors: Mapping[str, datetime]
    ) -> _Seen:
        """A window matched from nothing."""
        many = len(rules.rules)
        seen = cls(
            rules,
            contributions,
            floors,
            agencies=frozenset(map(_AGENCY, contributions)),
            types=frozenset(map(_TYPE, contributions)),
            candidates=[None] * many,
            matched=[None] * many,
            done=[False] * many,
        )
        seen.match()
        return seen

    def grown(self, contributions: tuple[Contribution, ...]) -> _Seen:
        """The window of these contributions: this one's and one more, the latest."""
        latest = contributions[-1]
        agencies, types = self.agencies, self.types
        if latest.agency_id not in agencies:
            agencies = agencies | {latest.agency_id}
        if latest.event_type not in types:
            types = types | {latest.event_type}
        candidates, matched, done = list(self.candidates), list(self.matched), list(self.done)
        kind, at, floors = latest.event_type, latest.occurred_at, self.floors
        for i, rule in _reading(self.rules).get(kind, ()):
            held = candidates[i]
            if held is not None:
                floor = floors.get(rule.id) if floors else None
                if floor is None or at >= floor:
                    candidates[i] = (*held, latest)
                    if not done[i]:
                        matched[i] = None  # not found over ``held``: looked up, if anywhere
                    done[i] = False
        seen = _Seen(
            self.rules,
            contributions,
            floors,
            agencies=agencies,
            types=types,
            candidates=candidates,
            matched=matched,
            done=done,
        )
        seen.match()
        return seen

    def match(self) -> None:
        """Each rule the window's types allow matched over its candidates, unless it was
        over the same candidates already; the episodes of all, in rule order."""
        rules = self.rules
        if len(self.agencies) < rules.least_agencies:
            return  # too few agencies for any rule: no episode anywhere
        candidates, matched, done = self.candidates, self.matched, self.done
        contributions, floors = self.contributions, self.floors
        found: list[tuple[Rule, Episode]] = []
        for i, rule, indexed in _matchable(rules, self.types):
            if not done[i]:
                held = candidates[i]
                if held is None:
                    held = candidates[i] = _candidates(indexed, contributions, floors.get(rule.id))
                    before = None
                else:  # grown by its last (or never asked): what was found before it, if any
                    before = matched[i]
                matched[i] = found_by(rule, indexed, held, before)
                done[i] = True
            known = matched[i]
            if known is not None:
                found.extend([(rule, episode) for episode in known.episodes])
        self.found = tuple(found)


def _candidates(
    indexed: Indexed, contributions: tuple[Contribution, ...], floor: datetime | None
) -> tuple[Contribution, ...]:
    """A rule's candidates: the contributions of its types, at or after its floor."""
    types = indexed.types
    if floor is None:  # most windows: no expiry yet, no late event
        return tuple([c for c in contributions if c.event_type in types])
    return tuple([c for c in contributions if c.event_type in types and c.occurred_at >= floor])


_SEEN_FROM = 8
"""Windows of fewer contributions are matched directly, and not remembered."""
_SEEN_MAX = 16384
_SEEN_WEIGHT = 1 << 20
"""The contributions the remembered windows hold in all, with each rule's candidates
(:class:`_Seen`; an entry weighs its count times one more than the rules, whether or not a
rule's candidates were found): a feed sending one subject thousands of events cannot make
every entry hold thousands. What matching found over a rule's candidates (the qualifying
ones and the episodes' members, each at most the candidates) is held too: at most twice as
many references again."""
_SEEN: Bounded[tuple[int, int], _Seen] = Bounded(_SEEN_MAX, _SEEN_WEIGHT)


_Matchable = tuple[tuple[int, Rule, Indexed], ...]


def _reading(rules: RuleSet) -> dict[str, tuple[tuple[int, Rule], ...]]:
    """Per event type, the rules that read it (a contributor of theirs is of that type),
    each with its index in the rule set."""
    if _NEEDED[0] is not rules:
        _index(rules)
    reading: dict[str, tuple[tuple[int, Rule], ...]] = _NEEDED[3]
    return reading


def _index(rules: RuleSet) -> None:
    _NEEDED[:] = [
        rules,
        tuple(
            (i, r, needed_types(r) or (contributing_types(r),), contributors(r))
            for i, r in enumerate(rules.rules)
        ),
        {},
        {
            kind: tuple((i, r) for i, r in enumerate(rules.rules) if kind in contributing_types(r))
            for kind in sorted({t for r in rules.rules for t in contributing_types(r)})
        },
    ]


def _matchable(rules: RuleSet, present: frozenset[str]) -> _Matchable:
    """The rules (each with its index in the rule set and its contributors by type,
    :func:`hub.flags.match.contributors`) that may have an episode on a window whose
    contributions are of the types ``present``.

    A rule holds on a window only when every label its conditions name is among its
    members' labels, and a label comes only with an event of one of its contributors' types
    (:func:`hub.flags.match.needed_types`; for a rule that names none, the types it reads):
    a window lacking every type of one such label has no episode of the rule. A function of
    the rule set and the types alone, so found once per set of types (remembered for the
    last rule set: a worker has one), at most :data:`_MATCHABLE_MAX` of them."""
    if _NEEDED[0] is not rules:
        _index(rules)
    known: dict[frozenset[str], _Matchable] = _NEEDED[2]
    found = known.get(present)
    if found is None:
        found = tuple(
            (i, rule, indexed)
            for i, rule, needed, indexed in _NEEDED[1]
            if not any(map(present.isdisjoint, needed))
        )
        if len(known) >= _MATCHABLE_MAX:
            known.clear()  # sets of types are few (one per combination a subject has had)
        known[present] = found
    return found


_NEEDED: list[Any] = [None, (), {}, {}]
"""The last rule set :func:`_matchable` indexed, its rules' needed types and contributors,
the rules it found per set of types (a worker has one rule set), and the rules reading
each type (:func:`_reading`)."""
_MATCHABLE_MAX = 4096
_AGENCY = attrgetter("agency_id")
_TYPE = attrgetter("event_type")


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
    # held, so that their ids are not reused; weighed by the members the flag lists
    _STATES.put(key, (rule, episode, state), len(episode.members))
    return state


_STATES_MAX = 16384
_STATES_WEIGHT = 1 << 18
"""The members the remembered flags list in all: a count of entries alone would let a feed
sending one subject thousands of events keep thousands of event references in each."""
_STATES: Bounded[tuple[int, str, int, Status], tuple[Rule, Episode, FlagState]] = Bounded(
    _STATES_MAX, _STATES_WEIGHT
)


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

    A window with nothing to drop is returned as it is, floors included: raising a floor to
    the cut would exclude only contributions older than the cut, and the window holds none
    (a late one is kept below the floors when it arrives, :func:`hub.correlate.admit`). So a
    clock tick that drops nothing changes no subject's state (``docs/rules.md``).
    """
    if now.tzinfo is None:
        raise RuleError("expiry time has no time zone")
    cut = now - rules.horizon
    # The contributions are kept in time order, so the first is the earliest: with none
    # before the cut, nothing is dropped and no episode is anchored before it.
    contributions = window.contributions
    if not contributions or contributions[0].occurred_at >= cut:
        return window
    return window.without_before(cut, floored(rules, window, cut))


def floored(rules: RuleSet, window: SubjectWindow, cut: datetime) -> dict[str, datetime]:
    """Every rule's floor after an expiry at ``cut``, in rule order: at least the cut, and
    past the end of the rule's last episode anchored before it (episodes are computed only
    when a contribution is older than the cut: else none is anchored before it). Floors of
    rules no longer in force are kept.

    :func:`expire` gives these to a window it drops contributions from; a dispatcher's
    trim gives them to every partnership's view then, whether or not the view loses one
    (:meth:`hub.dispatch.Dispatcher.trim`).
    """
    contributions = window.contributions
    anchored_before = bool(contributions) and contributions[0].occurred_at < cut
    held = window.floors
    floors: dict[str, datetime] = {}
    for rule in rules.rules:  # sorted by id, so the floors are too
        previous = held.get(rule.id)
        floor = previous if previous is not None and previous > cut else cut
        if anchored_before:
            for episode in episodes(rule, contributions, previous):
                if episode.anchor < cut:
                    floor = max(floor, episode.end)
        floors[rule.id] = floor
    return _keeping(held, floors)


def late_floor(
    rules: RuleSet, window: SubjectWindow, contribution: Contribution, now: datetime
) -> datetime | None:
    """The floor to keep a contribution arriving at ``now`` below: None unless it is older
    than the cut (``now - rules.horizon``: a late event, which can belong to no active flag).

    It is the cut, or the window's earliest contribution if that is older (one the next
    expiry will drop), so that no contribution already in the window stops being a
    candidate: raised to it (:func:`at_least`), the floors keep the late event from starting
    or joining an episode, and leave the others' episodes as they were. Only a late event
    no older than such a contribution stays a candidate, until the expiry after its dispatch
    drops both.
    """
    cut = now - rules.horizon
    if contribution.occurred_at >= cut:
        return None
    contributions = window.contributions
    return min(cut, contributions[0].occurred_at) if contributions else cut


def at_least(
    rules: RuleSet, floors: Mapping[str, datetime], floor: datetime
) -> dict[str, datetime]:
    """Every rule's floor raised to at least ``floor``, in rule order (floors of rules no
    longer in force kept)."""
    raised = {r.id: max(floors.get(r.id, floor), floor) for r in rules.rules}
    return _keeping(floors, raised)


def _keeping(held: Mapping[str, datetime], floors: dict[str, datetime]) -> dict[str, datetime]:
    """``floors`` (every rule in force's, in rule order) with the held floors of rules no
    longer in force kept, all in id order."""
    if held.keys() <= floors.keys():
        return floors
    return dict(sorted({**held, **floors}.items()))
