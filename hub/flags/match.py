"""Matching one rule against a set of contributions: which qualify, which windows satisfy it.

Semantics (``docs/rules.md``):

- a contribution *qualifies* for a rule when a contributor of its type accepts its fields
  and, if the rule has an age range, its age lies in it (an unknown age never does);
- a window starts at a qualifying contribution (its *anchor*) and lasts ``window_days``:
  ``[anchor, anchor + window)``; its *members* are the qualifying contributions inside;
- the rule *holds* on a window when the members satisfy every condition;
- episodes are chosen greedily: the earliest anchor (at or after the rule's floor) on which
  the rule holds starts a flag; the next flag may only start when that window has ended.

Every step looks at the set, in (occurred_at, event_id) order, never at arrival order.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter

from hub.flags.contribution import Contribution
from hub.flags.memo import Bounded
from hub.flags.predicate import Predicate, compiled
from hub.rules import Rule, Severity, rank

Labelled = tuple[Contribution, frozenset[str]]


@dataclass(frozen=True, slots=True)
class Episode:
    """A window on which a rule holds: its anchor, its members and the severity they earn."""

    anchor: datetime
    end: datetime
    members: tuple[Contribution, ...]
    severity: Severity


@dataclass(frozen=True, slots=True)
class _Contributors:
    """A rule's contributors indexed by event type: what matching asks of it per event."""

    types: frozenset[str]
    needed: tuple[frozenset[str], ...]
    """Per label the rule's conditions name (``require``, each sequence's two), the event
    types of its contributors: a set holding no event of one of them has no episode."""
    by_type: Mapping[str, tuple[frozenset[str], tuple[tuple[str, tuple[Predicate, ...]], ...]]]
    """Per event type, the labels of its contributors that test no field, and each other
    contributor's label with its compiled ``where`` tests."""
    age: tuple[int, int] | None
    """The rule's age range, its bounds included (an unknown age is in none)."""
    found: Bounded[tuple[int, ...], _Found]
    """Episodes already found, by candidates (held, so that their ids are not reused)."""

    def labels(self, contribution: Contribution) -> frozenset[str]:
        """The labels under which a contribution qualifies (empty: it does not), found
        afresh at each call. They were remembered by contribution until 2026-12-07: over
        24 months of the demo no contribution was labelled twice for a rule, the memo's
        hits were contributions labelled a moment before in the same dispatch, and a hit
        with its upkeep cost more than labelling again (1.8 against 1.1 µs a call over the
        41,790 calls of three months, replayed; ``docs/backtest.md``)."""
        age = self.age
        if age is not None:
            years = contribution.age
            if years is None or not age[0] <= years <= age[1]:
                return _NONE
        kind = self.by_type.get(contribution.event_type)
        if kind is None:
            return _NONE
        plain, tested = kind
        if not tested:  # no contributor of this type tests a field: its labels are known
            return plain
        fields = contribution.fields
        names: list[str] = []
        for name, tests in tested:
            for test in tests:
                if not test(fields):
                    break
            else:
                names.append(name)
        return plain.union(names) if names else plain


Indexed = _Contributors
"""A rule's contributors by type (:func:`contributors`), for callers' annotations."""


@dataclass(frozen=True, slots=True)
class _Found:
    """A rule's episodes over a set of candidates, and the candidates that qualify."""

    candidates: tuple[Contribution, ...]
    episodes: tuple[Episode, ...]
    ordered: tuple[Labelled, ...]


Found = _Found
"""What matching found over a rule's candidates (:func:`found_by`), for callers."""
_NONE: frozenset[str] = frozenset()
_FOUND_MAX = 16384
_FOUND_WEIGHT = 1 << 18
"""The candidates a rule's remembered episodes hold in all (:class:`hub.flags.memo.Bounded`):
a subject sent thousands of events cannot make every entry hold thousands."""
_INDEXED: dict[int, tuple[Rule, _Contributors]] = {}
_INDEXED_MAX = 1024
_key = attrgetter("occurred_at", "event_id")  # Contribution.key, without the property call


def _contributors(rule: Rule) -> _Contributors:
    """The rule's contributors by type, built once per rule object (rules are frozen)."""
    found = _INDEXED.get(id(rule))
    if found is not None and found[0] is rule:
        return found[1]
    by_type: dict[str, list[tuple[str, tuple[Predicate, ...]]]] = {}
    by_label: dict[str, set[str]] = {}
    for contributor in rule.events:
        tests = tuple(compiled(test) for test in contributor.where)
        by_type.setdefault(contributor.type, []).append((contributor.name, tests))
        by_label.setdefault(contributor.name, set()).add(contributor.type)
    cond = rule.conditions
    named = dict.fromkeys([*cond.require, *(n for s in cond.sequence for n in (s.first, s.then))])
    indexed = _Contributors(
        frozenset(by_type),
        tuple(frozenset(by_label.get(label, ())) for label in named),
        {
            t: (frozenset(n for n, tests in cs if not tests), tuple((n, ts) for n, ts in cs if ts))
            for t, cs in by_type.items()
        },
        None if cond.age is None else (cond.age.min, cond.age.max),
        Bounded(_FOUND_MAX, _FOUND_WEIGHT),
    )
    if len(_INDEXED) >= _INDEXED_MAX:  # rule sets are few; only tests build many
        _INDEXED.clear()
    _INDEXED[id(rule)] = (rule, indexed)  # holding the rule keeps its id from being reused
    return indexed


def contributing_types(rule: Rule) -> frozenset[str]:
    """The event types a rule's contributors name: no other contribution can qualify."""
    return _contributors(rule).types


def needed_types(rule: Rule) -> tuple[frozenset[str], ...]:
    """Per label the rule's conditions name, the event types that can carry it
    (:attr:`_Contributors.needed`): a set with no event of one of them has no episode."""
    return _contributors(rule).needed


def labels(rule: Rule, contribution: Contribution) -> frozenset[str]:
    """The labels under which a contribution qualifies for a rule (empty: it does not)."""
    return _contributors(rule).labels(contribution)


def qualifying(rule: Rule, contributions: Iterable[Contribution]) -> list[Labelled]:
    """The contributions that qualify, with their labels, in (occurred_at, event_id) order."""
    indexed = _contributors(rule)
    types = indexed.types
    candidates = [c for c in contributions if c.event_type in types]
    candidates.sort(key=_key)
    found = [(c, indexed.labels(c)) for c in candidates]
    return [(c, names) for c, names in found if names]


def holds(rule: Rule, members: Sequence[Labelled]) -> bool:
    """Whether the members of one window satisfy every condition of the rule. The members
    are in time order (as :func:`qualifying` gives them): the sequence test searches them."""
    cond = rule.conditions
    if len(members) < cond.min_events:
        return False
    if len({c.agency_id for c, _ in members}) < cond.min_agencies:
        return False
    present = frozenset().union(*(names for _, names in members))
    if not present.issuperset(cond.require):
        return False
    return all(
        _followed(members, s.first, s.then, timedelta(days=s.within_days)) for s in cond.sequence
    )


def _followed(members: Sequence[Labelled], first: str, then: str, within: timedelta) -> bool:
    """Some ``first`` event is followed by a ``then`` strictly later, at most ``within`` after."""
    starts = [c.occurred_at for c, names in members if first in names]
    if not starts:
        return False
    # The members are in time order, so the starts are sorted: the latest start strictly
    # before an end is the nearest, and some start is within reach exactly when it is
    # (one search per end, not a pass over every start).
    for contribution, names in members:
        if then in names:
            end = contribution.occurred_at
            before = bisect_left(starts, end)
            if before and end - starts[before - 1] <= within:
                return True
    return False


def severity(rule: Rule, members: Sequence[Labelled]) -> Severity:
    """The rule's severity, raised by every escalation whose threshold the members reach."""
    events, agencies = len(members), len({c.agency_id for c, _ in members})
    found = rule.severity
    for step in rule.escalation:
        if events >= (step.when.min_events or 0) and agencies >= (step.when.min_agencies or 0):
            found = max(found, step.severity, key=rank)
    return found


def episodes(
    rule: Rule, contributions: Sequence[Contribution], floor: datetime | None
) -> list[Episode]:
    """Every flag-worthy window of the rule over a set, greedily from the earliest anchor."""
    return episodes_by(rule, _contributors(rule), contributions, floor)


def contributors(rule: Rule) -> Indexed:
    """The rule's contributors by type (what :func:`episodes_by` is given)."""
    return _contributors(rule)


def episodes_by(
    rule: Rule, indexed: Indexed, contributions: Sequence[Contribution], floor: datetime | None
) -> list[Episode]:
    """:func:`episodes`, given the rule's contributors (:func:`contributors`): a caller that
    matches many windows against the same rules finds them once."""
    types = indexed.types
    if floor is None:  # most windows: no expiry yet, no late event
        candidates = [c for c in contributions if c.event_type in types]
    else:
        candidates = [c for c in contributions if c.event_type in types and c.occurred_at >= floor]
    found = found_by(rule, indexed, candidates, None)
    return [] if found is None else list(found.episodes)


def found_by(
    rule: Rule, indexed: Indexed, candidates: Sequence[Contribution], before: Found | None
) -> Found | None:
    """What matching finds over a rule's candidates (the contributions of its types at or
    after its floor, in order): their episodes, and the candidates that qualify; None when
    they are too few, or of too few agencies, for the rule (no episode). ``before``, when
    given, is what it found over ``candidates[:-1]`` (the caller's window grew by its last
    candidate), so that is not looked up.

    The episodes are a function of the rule and the candidates alone (every anchor is a
    candidate, so the floor acts only through them): a window that gained an event of
    another type, or a view of it with the same candidates, is not matched again. Only
    candidates enough for the rule's counts are remembered, so a remembered set needs no
    count. An entry holds its candidates, so no other object has one of their ids while it
    is there: a key found is the same objects.
    """
    if len(candidates) < rule.conditions.min_events:
        return None  # too few for the rule's counts: never remembered, nothing to look up
    key = tuple(map(id, candidates))
    known = indexed.found.get(key)
    if known is not None:
        return known
    if before is None:
        if not _enough(rule, candidates):
            return None  # every window's members are among these: the rule holds on none
        before = indexed.found.get(key[:-1])  # an entry holds its candidates: the same objects
    # else enough: ``before``'s candidates were, and these are more
    found = (
        _matched(rule, candidates) if before is None else _grown(rule, indexed, candidates, before)
    )
    indexed.found.put(key, found, len(key))
    return found


def _matched(rule: Rule, candidates: Sequence[Contribution]) -> _Found:
    """:func:`episodes` over candidates enough for the rule's counts (all at or after the floor)."""
    ordered = qualifying(rule, candidates)
    if len(ordered) < len(candidates) and not _enough(rule, [c for c, _ in ordered]):
        return _Found(tuple(candidates), (), tuple(ordered))
    return _Found(tuple(candidates), tuple(_greedy(rule, ordered, 0, None)), tuple(ordered))


def _grown(
    rule: Rule, indexed: _Contributors, candidates: Sequence[Contribution], known: _Found
) -> _Found:
    """The episodes when ``known`` is what matching found over all the candidates but the
    last, which is later than all of them (an event arriving in time order).

    The new one is a member only of windows that reach its time, so the episodes that end
    by then stand; every anchor after the last of them whose window ends by then was tried
    and did not hold, with the same members; the greedy choice resumes at the first anchor
    allowed whose window reaches the new time. That window's members are every qualifying
    candidate from it on, and each later anchor's are a part of them. A rule that holds on
    some members holds on more (:func:`holds`: every condition asks for something to be
    among them), so if that window does not hold no later one does, and if it does the
    next anchor allowed is past the new time: one window is tried.
    """
    latest = candidates[-1]
    names = indexed.labels(latest)
    if not names:  # it does not qualify: nothing the rule sees changed
        return _Found(tuple(candidates), known.episodes, known.ordered)
    ordered = (*known.ordered, (latest, names))
    at, width = latest.occurred_at, timedelta(days=rule.window_days)
    kept = [e for e in known.episodes if e.end <= at]  # in anchor order: a prefix
    first = bisect_right(ordered, at - width, key=_occurred)  # its window reaches ``at``
    if kept:
        first = max(first, bisect_left(ordered, kept[-1].end, key=_occurred))
    members = ordered[first:]  # all before ``at``, within a window of the first
    if holds(rule, members):
        start = members[0][0].occurred_at
        found = Episode(start, start + width, tuple(c for c, _ in members), severity(rule, members))
        kept.append(found)
    return _Found(tuple(candidates), tuple(kept), ordered)


def _greedy(
    rule: Rule, ordered: Sequence[Labelled], first: int, allowed: datetime | None
) -> list[Episode]:
    """The episodes anchored at ``ordered[first:]``, greedily, none starting before
    ``allowed`` (the end of the episode before them)."""
    times = [c.occurred_at for c, _ in ordered]
    width = timedelta(days=rule.window_days)
    found: list[Episode] = []
    failed = -1  # where the members of the last window that did not hold end
    for i in range(first, len(ordered)):
        start = times[i]
        if allowed is not None and start < allowed:
            continue
        end = bisect_left(times, start + width, lo=i)
        if end == failed:
            continue  # its members are a part of that window's: the rule holds on none
        members = ordered[i:end]
        if holds(rule, members):
            found.append(
                Episode(start, start + width, tuple(c for c, _ in members), severity(rule, members))
            )
            allowed = start + width
        else:
            failed = end
    return found


def _occurred(labelled: Labelled) -> datetime:
    return labelled[0].occurred_at


def _enough(rule: Rule, candidates: Sequence[Contribution]) -> bool:
    """Whether a set could hold the rule's counts: a window's members are a subset of it.

    Only contributions at or after the floor can be members (a window's members start at its
    anchor), so callers pass those alone.
    """
    cond = rule.conditions
    if len(candidates) < cond.min_events:
        return False
    return cond.min_agencies <= 1 or len(set(map(_AGENCY, candidates))) >= cond.min_agencies


_AGENCY = attrgetter("agency_id")


def still_holds(rule: Rule, subset: Iterable[Contribution]) -> bool:
    """Whether the rule holds on a subset of a flag's events (e.g. those a partnership may see).

    The subset must satisfy the rule within one window starting at its earliest qualifying
    contribution; a partnership that may see too few for the rule receives no flag.
    """
    ordered = qualifying(rule, subset)
    if not ordered:
        return False
    end = ordered[0][0].occurred_at + timedelta(days=rule.window_days)
    return holds(rule, [(c, names) for c, names in ordered if c.occurred_at < end])
