"""One moment's agreement decisions on one subject's events, for every partnership.

A dispatch decides the subject's events for each of the nine partnerships, often more than
once for one (the event that caused it, then the events it may see, then the flags it may not
be told of). Within one dispatch the subject's token, the time, the agreements and the
consent state are fixed, so a decision is a function of the event's class alone
(:meth:`hub.dsa.Evaluator.event_class`, the one definition of what a decision reads of an
event) and of the partnership and the consent view asked: :class:`Decider` finds each event's
facts and class once, and asks the evaluator once per (class, partnership, consent view).

The decisions it gives are the evaluator's, as :meth:`~hub.dsa.Evaluator.outcome` gives them:
their ``event_id`` and ``at`` may be another event's of the same class (dispatch restamps the
ones it records).

For a consent state that answers no lookup (no consent record: most subjects) a decision is
a function of the evaluator, the interval of the time between the book's breakpoints
(:meth:`~hub.dsa.Evaluator.interval`), the class and the partnership alone: those decisions
are shared by every dispatch.

Each class is keyed by its number (:class:`hub.classified.Numbering`, the last evaluator's,
:data:`_NUMBERING`): found once per contribution, a number hashes and compares at once, and a
set of classes is one int, bit n the class numbered n. What a partnership may see of a window
(:meth:`Decider.sight`) is then the events of the classes it is permitted (one int, its
permits): partnerships permitted the same classes see the same events. A dispatch finds every
partnership's at once (:meth:`Decider.sights`): each class of the window is one mask of the
partnerships it permits (for a consent state that answers nothing, shared by every dispatch
of the interval, per class: :data:`_MASKS`), the partnerships are split into the groups
permitted the same classes, and each group's events are found once (the demo's nine
partnerships see one of two sets of a subject's events). Each partnership's own decisions
stay its own (:meth:`Decider.decisions`, found when a record or an alert asks).

With ``remember`` (a backtest's dispatcher, whose subjects are re-decided with the same
flags at each event a partnership may not see and at each tick), the classes of each
subject's last window are remembered across dispatches, by token, and carried over to its
next window for the contribution objects it keeps (the newest :data:`_LAST_MAX` kept, the
last numbering's only), with the sights last given for it: a window grown at the end with
events of classes it had takes those sights with the added events (:meth:`Decider.sights`).
A contribution's own facts and class are not remembered apart (they were, by the
contribution's identity, until 2026-12-07: over three months of the demo that memo answered
none of its 9,689 asks, every contribution it could answer being in its subject's last window
already, and in a long run it evicted an entry at every new contribution). The live worker
remembers nothing: its windows change with nearly every dispatch, and the entries cost
collector time and memory (``docs/benchmarks-history.md``, "Domain cost, seventh session"). Pure: no
I/O, no clock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import is_
from typing import TypeVar

from hub.classified import Classified, Decisions, Numbering, bits_of, groups, members
from hub.consent import ConsentLedger
from hub.disclosure import Moment, event_facts
from hub.dsa import NO_CONSENT, ConsentView, Decision, Evaluator, EventFacts, Outcome
from hub.flags import Contribution, SubjectWindow
from hub.view import Decide, Sight

_LAST_MAX = 16384
_LAST: OrderedDict[str, Classified] = OrderedDict()
"""The classes of each subject's last window, by token (see Decider._classified)."""
_LAST_OF: list[Numbering | None] = [None]
"""The numbering whose classes :data:`_LAST` holds (a superseded one is not kept alive)."""
_LOOK_AHEAD = 4
"""Contributions of the window before looked past for one of the new window's."""
_NUMBERING_MAX = 16384
_NUMBERING: list[Numbering | None] = [None]
"""The classes' numbers (:class:`hub.classified.Numbering`): the last evaluator's, replaced
by a fresh one for a dispatch that finds it holding :data:`_NUMBERING_MAX` classes (so it
holds at most that many and the classes of one dispatch's windows). Everything keyed by
class numbers is of one numbering: :data:`_LAST`, :data:`_TABLES` and :data:`_MASKS` are
emptied when another is met, and hold at most its classes per key."""
_TABLES_MAX = 1024
_TABLES: dict[tuple[int, str], tuple[Numbering, dict[int, Decision]]] = {}
"""Decisions by class number, per (interval, partnership), for a silent consent state: only
the last numbering's (a worker decides under one evaluator at a time; one that reloads its
agreements does not keep the superseded evaluators alive through this memo)."""
_TABLES_OF: list[Numbering | None] = [None]
"""The numbering whose decisions :data:`_TABLES` holds."""
_PERMIT = Outcome.PERMIT
_MASKS_MAX = 8
_MASKS: dict[tuple[int, tuple[str, ...]], tuple[Numbering, dict[int, int]]] = {}
"""Per (interval, partnerships in order), for a consent state that answers nothing: each
class's permitted partnerships, bit i the i-th (:meth:`Decider.sights`). At most
:data:`_MASKS_MAX` keys (one per interval and recipients tuple in practice), each of at most
the numbering's classes (one a key: a window's set of classes is never one); only the last
numbering's."""
_MASKS_OF: list[Numbering | None] = [None]
"""The numbering whose masks :data:`_MASKS` holds."""


K = TypeVar("K")
V = TypeVar("V")


def _interval_memo(
    memo: dict[K, tuple[Numbering, dict[int, V]]],
    owner: list[Numbering | None],
    most: int,
    numbering: Numbering,
    key: K,
) -> dict[int, V]:
    """The by-class memo shared by the dispatches of an interval under ``key`` (its interval
    first), of this numbering's classes: every entry forgotten past ``most`` keys or when
    another numbering is met (``owner`` names the one ``memo`` holds)."""
    entry = memo.get(key)
    if entry is None or entry[0] is not numbering:
        if len(memo) >= most or owner[0] is not numbering:
            memo.clear()
            owner[0] = numbering
        entry = memo[key] = (numbering, {})
    return entry[1]


def _numbering(policy: Evaluator) -> Numbering:
    """The numbering of the evaluator's classes a dispatch keys them by (:data:`_NUMBERING`)."""
    numbering = _NUMBERING[0]
    if numbering is None or numbering.policy is not policy or numbering.full(_NUMBERING_MAX):
        numbering = _NUMBERING[0] = Numbering(policy)
    return numbering


@dataclass(slots=True)
class Decider:
    """The decisions of one moment on one subject's contributions (see the module doc)."""

    token: str
    moment: Moment
    remember: bool = False
    """Remember windows' classes and what each partnership may see of them across
    dispatches (see the module doc)."""
    _numbering: Numbering = field(init=False)
    """The numbers of the evaluator's classes this dispatch keys them by (:data:`_NUMBERING`,
    taken once: every class number it holds is of this numbering)."""
    _classes: dict[str, tuple[EventFacts, int]] = field(default_factory=dict)
    _tables: dict[tuple[int, str], dict[int, Decision]] = field(default_factory=dict)
    _views: list[ConsentView] = field(default_factory=list)
    """The consent views asked (held: their ids key the tables)."""
    _window: Classified | None = None
    """The classes of the window :meth:`sight` was last asked of."""
    _permits: dict[str, int] = field(default_factory=dict)
    """Which of the window's classes each partnership may see (bit n the class numbered n),
    found by :meth:`sight`."""
    _masks: dict[tuple[str, ...], dict[int, int]] = field(default_factory=dict)
    """Each class's permitted partnerships, per partnerships asked (:meth:`_masks_of`)."""
    _grown: Classified | None = None
    """The subject's window before, when the window last classified is it with events added
    at the end (:meth:`_classes_of`; remembering only): :meth:`_grown_sights`."""

    def __post_init__(self) -> None:
        self._numbering = _numbering(self.moment.policy)

    def decide(self, partnership_id: str, consent: ConsentView | None = None) -> Decide:
        """The partnership's decisions on contributions, under ``consent`` (the moment's when
        None), in order."""
        view = self.moment.consent if consent is None else consent
        table = self._table(partnership_id, view)
        outcome, at, classes = self.moment.policy.outcome, self.moment.at, self._classes

        def decide(contributions: Sequence[Contribution]) -> list[Decision]:
            found = []
            for c in contributions:
                known = classes.get(c.event_id) or self._class_of(c)
                decision = table.get(known[1])
                if decision is None:
                    decision = table[known[1]] = outcome(known[0], partnership_id, at, view)
                found.append(decision)
            return found

        return decide

    def sight(self, partnership_id: str, window: SubjectWindow) -> Sight:
        """What the partnership may see of the window under the moment's consent: the events
        ``see(window, self.decide(partnership_id))`` permits. Partnerships whose decisions
        permit the same of the window's classes get the same object (a decision is a function
        of the class, so they see the same events); each class is decided once per
        partnership, not each event, and for a consent state that answers nothing, once per
        interval and set of classes (see the module doc)."""
        known = self._known(window)
        permits = self._permits.get(partnership_id)
        if permits is None:
            permits = self._permits[partnership_id] = self._permitted(partnership_id, known)
        found = known.sights.get(permits)
        if found is None:
            found = known.sights[permits] = _sight_of(window, known, permits)
        return found

    def sights(self, partnership_ids: tuple[str, ...], window: SubjectWindow) -> list[Sight]:
        """:meth:`sight` of each partnership, in order, found at once: which partnerships each
        of the window's classes permits is one mask (:meth:`_masks_of`), the partnerships are
        split into groups permitted the same classes (:func:`hub.classified.groups`), and
        each group's events are found once. A window object met again at the same interval,
        under a consent state that answers nothing, gives the sights it gave."""
        known = self._known(window)
        masks = self._masks_of(partnership_ids)
        given = known.given
        if given is not None and given[0] is masks and given[1] == partnership_ids:
            return given[2]
        grown = self._grown_sights(known, masks, partnership_ids)
        if grown is not None:
            return grown
        first = known.first
        kinds = list(first)
        known.bits = bits_of(kinds)
        bits = []
        for kind in kinds:
            mask = masks.get(kind)
            if mask is None:
                mask = masks[kind] = self._mask(partnership_ids, kind, first[kind])
            bits.append(mask)
        found: list[Sight] = [_NO_SIGHT] * len(partnership_ids)
        permitted = [0] * len(partnership_ids)
        for group in groups(bits, len(partnership_ids)):
            permits = 0
            for kind, mask in zip(kinds, bits, strict=True):
                if mask & group:
                    permits |= 1 << kind
            sight = known.sights.get(permits)
            if sight is None:
                sight = known.sights[permits] = _sight_of(window, known, permits)
            for n in members(group):
                found[n] = sight
                permitted[n] = permits
        known.given = (masks, partnership_ids, found, permitted)  # held: its id is not reused
        return found

    def _grown_sights(
        self, known: Classified, masks: dict[int, int], partnership_ids: tuple[str, ...]
    ) -> list[Sight] | None:
        """The sights of a window grown at the end from the subject's window before, found
        from that window's (None when they cannot be): when those were given under the same
        masks (the same numbering, interval and partnerships, a consent state that answers
        nothing) and every event added is of a class the window before had, the window's
        classes are the same, so every partnership is permitted the same of them, and each
        sight is the one before with the added events of its classes, in order."""
        before = self._grown
        if before is None or self._window is not known:
            return None
        given = before.given
        if given is None or given[0] is not masks or given[1] != partnership_ids:
            return None
        n = len(before.kinds)
        added = known.kinds[n:]
        bits = bits_of(added)
        had = before.bits
        known.bits = had | bits
        if bits & ~had:
            return None  # a new class: it may split the partnerships otherwise
        contributions = known.window.contributions[n:]
        sights = known.sights
        found = []
        for old, permits in zip(given[2], given[3], strict=True):
            sight = sights.get(permits)
            if sight is None:
                seen = permits & bits
                if not seen:
                    sight = old  # no added event is of its classes
                elif seen == bits:
                    sight = old.grown(contributions)
                else:
                    more = zip(contributions, added, strict=True)
                    sight = old.grown([c for c, k in more if permits >> k & 1])
                sights[permits] = sight
            found.append(sight)
        known.given = (masks, partnership_ids, found, given[3])  # held: its id is not reused
        return found

    def decisions(self, partnership_id: str, window: SubjectWindow) -> Mapping[str, Decision]:
        """The partnership's decisions on the window's events, by event id, each found when
        asked: those of ``see(window, self.decide(partnership_id)).decisions``."""
        table = self._table(partnership_id, self.moment.consent)
        return Decisions(partnership_id, self.moment, table, self._known(window))

    def _known(self, window: SubjectWindow) -> Classified:
        """The window's classes: this dispatch's, found on the first ask (:meth:`_classified`)."""
        known = self._window
        return known if known is not None and known.window is window else self._classified(window)

    def _permitted(self, partnership_id: str, known: Classified) -> int:
        """The classes of a window the partnership may see (bit n the class numbered n)."""
        view = self.moment.consent
        table = self._table(partnership_id, view)
        outcome, at = self.moment.policy.outcome, self.moment.at
        permits = 0
        for kind, facts in known.first.items():
            decision = table.get(kind)
            if decision is None:
                decision = table[kind] = outcome(facts, partnership_id, at, view)
            if decision.outcome is _PERMIT:
                permits |= 1 << kind
        return permits

    def _mask(self, partnership_ids: tuple[str, ...], kind: int, facts: EventFacts) -> int:
        """The partnerships (bit n: the n-th) permitted events of this class."""
        view = self.moment.consent
        outcome, at = self.moment.policy.outcome, self.moment.at
        mask = 0
        for n, pid in enumerate(partnership_ids):
            table = self._table(pid, view)
            decision = table.get(kind)
            if decision is None:
                decision = table[kind] = outcome(facts, pid, at, view)
            if decision.outcome is _PERMIT:
                mask |= 1 << n
        return mask

    def _masks_of(self, partnership_ids: tuple[str, ...]) -> dict[int, int]:
        """Each class's mask of permitted partnerships: this dispatch's, or, for a consent
        state that answers nothing, those of every dispatch in the interval (:data:`_MASKS`,
        as :meth:`_table`)."""
        found = self._masks.get(partnership_ids)
        if found is not None:
            return found
        if _shared(self.moment.consent):
            key = (self.moment.policy.interval(self.moment.at), partnership_ids)
            found = _interval_memo(_MASKS, _MASKS_OF, _MASKS_MAX, self._numbering, key)
        else:
            found = {}
        self._masks[partnership_ids] = found
        return found

    def _classified(self, window: SubjectWindow) -> Classified:
        """The classes of the window's contributions: found once per dispatch, or,
        remembering, carried over from the subject's last window of the same numbering
        (the same window object again at a tick; the same contribution objects otherwise)."""
        numbering, token = self._numbering, self.token
        self._grown = None  # until _classes_of finds the window grown from the one before
        before = _LAST.get(token) if self.remember else None
        if before is not None and before.of(window, numbering, token):
            known = before  # the same window again: a tick's rescan
        else:
            if before is not None and (before.numbering is not numbering or before.token != token):
                before = None
            known = Classified(window, (numbering, token), self._classes_of(window, before))
            if self.remember:
                if _LAST_OF[0] is not numbering:  # only the last numbering's, as _TABLES
                    _LAST.clear()
                    _LAST_OF[0] = numbering
                _LAST.pop(token, None)  # the newest last
                if len(_LAST) >= _LAST_MAX:
                    _LAST.popitem(last=False)  # the oldest
                _LAST[token] = known
        self._window = known
        self._permits = {}
        return known

    def _classes_of(
        self, window: SubjectWindow, before: Classified | None
    ) -> tuple[list[EventFacts], list[int]]:
        """Each contribution's facts and class, in order: those of the subject's window
        before (``before``, of the same numbering and token) for the contribution objects
        it had, found in order (a new window is the one before with an event added or old
        ones dropped), else :meth:`_class_of`'s."""
        facts: list[EventFacts] = []
        kinds: list[int] = []
        old = before.window.contributions if before is not None else ()
        old_facts, old_kinds = (before.facts, before.kinds) if before is not None else ([], [])
        j, n = 0, len(old)
        contributions = window.contributions
        if n and len(contributions) > n and all(map(is_, old, contributions)):
            # the window before with events added after it (most): its classes, then theirs
            self._grown = before
            facts, kinds = list(old_facts), list(old_kinds)
            for c in contributions[n:]:
                found = self._class_of(c)
                facts.append(found[0])
                kinds.append(found[1])
            return facts, kinds
        for c in contributions:
            k = j
            while k < n and old[k] is not c and k < j + _LOOK_AHEAD:
                k += 1  # contributions dropped since (the oldest first)
            if k < n and old[k] is c:
                facts.append(old_facts[k])
                kinds.append(old_kinds[k])
                j = k + 1
            else:
                found = self._class_of(c)
                facts.append(found[0])
                kinds.append(found[1])
        return facts, kinds

    def _table(self, partnership_id: str, view: ConsentView) -> dict[int, Decision]:
        """The partnership's decisions by class number under ``view``: this dispatch's, or,
        for a consent state that answers nothing, those of every dispatch in the interval."""
        key = (id(view), partnership_id)
        table = self._tables.get(key)
        if table is not None:
            return table
        if _shared(view):
            shared = (self.moment.policy.interval(self.moment.at), partnership_id)
            table = _interval_memo(_TABLES, _TABLES_OF, _TABLES_MAX, self._numbering, shared)
        else:
            table = {}
        self._tables[key] = table
        self._views.append(view)
        return table

    def _class_of(self, contribution: Contribution) -> tuple[EventFacts, int]:
        """A contribution's facts and class number, found once per dispatch (remembering, a
        contribution of the subject's last window has them from there: :meth:`_classes_of`)."""
        facts = event_facts(contribution, self.token)
        found = (facts, self._numbering.number(self.moment.policy.event_class(facts)))
        self._classes[contribution.event_id] = found
        return found


def _sight_of(window: SubjectWindow, known: Classified, permits: int) -> Sight:
    """The window's events of the permitted classes (bit n the class numbered n)."""
    if permits == known.bits:
        return Sight(window.contributions)  # every class of the window
    visible = zip(window.contributions, known.kinds, strict=True)
    return Sight(tuple([c for c, k in visible if permits >> k & 1]))


_NO_SIGHT = Sight(())
"""A placeholder: :func:`hub.classified.groups` puts every partnership in one group."""


def _shared(consent: ConsentView) -> bool:
    """Whether decisions under this consent state are shared by every dispatch."""
    return consent is NO_CONSENT or _silent(consent)


def _silent(consent: ConsentView) -> bool:
    """Whether a consent state answers every lookup with None, whatever the time."""
    return isinstance(consent, ConsentLedger) and not consent.records
