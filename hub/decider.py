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
are shared by every dispatch. With ``remember`` (a backtest's dispatcher, whose subjects are
re-decided with the same flags at each event a partnership may not see), a contribution's
facts and class and a partnership's view of a set of contributions (:meth:`Decider.see`) are
remembered across dispatches too, by the identity of the evaluator and of each contribution
(immutable; held with the entry, so that their ids are not reused while it is remembered),
the newest :data:`SEEN_MAX` kept. The live worker does not: its windows change with nearly
every dispatch, and the entries cost collector time and memory (``docs/benchmarks.md``,
"Domain cost, seventh session"). Pure: no I/O, no clock.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from hub.consent import ConsentLedger
from hub.disclosure import Moment, event_facts
from hub.dsa import NO_CONSENT, ConsentView, Decision, Evaluator, EventFacts
from hub.flags import Contribution, SubjectWindow
from hub.view import Decide, Seen, seen_of, within

_Class = tuple[str, str, str | None, int | None]
SEEN_MAX = 16384
"""Views remembered across dispatches (a bound on memory: a backtest's flagged subjects)."""
_SeenKey = tuple[int, int, str, tuple[int, ...]]
_SEEN: OrderedDict[_SeenKey, tuple[Evaluator, tuple[Contribution, ...], Seen]] = OrderedDict()
_CLASSES_MAX = 16384
_CLASSES: OrderedDict[int, tuple[Contribution, Evaluator, str, EventFacts, _Class]] = OrderedDict()
"""Each contribution's facts and class, by the contribution's identity (see _class_of)."""
_TABLES_MAX = 1024
_TABLE_MAX = 16384
_TABLES: dict[tuple[int, int, str], tuple[Evaluator, dict[_Class, Decision]]] = {}
"""Decisions by class, per (evaluator, interval, partnership), for a silent consent state:
only the last evaluator's (a worker decides under one at a time; one that reloads its
agreements does not keep the superseded evaluators alive through this memo)."""
_TABLES_OF: list[Evaluator | None] = [None]
"""The evaluator whose decisions :data:`_TABLES` holds."""


@dataclass(slots=True)
class Decider:
    """The decisions of one moment on one subject's contributions (see the module doc)."""

    token: str
    moment: Moment
    remember: bool = False
    """Remember facts, classes and views across dispatches (see the module doc)."""
    _classes: dict[str, tuple[EventFacts, _Class]] = field(default_factory=dict)
    _tables: dict[tuple[int, str], dict[_Class, Decision]] = field(default_factory=dict)
    _views: list[ConsentView] = field(default_factory=list)
    """The consent views asked (held: their ids key the tables)."""

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

    def see(
        self,
        partnership_id: str,
        window: SubjectWindow,
        only: frozenset[str] | None = None,
        decide: Decide | None = None,
    ) -> Seen:
        """:func:`hub.view.see` for the partnership under the moment's consent, remembered
        across dispatches when the consent state answers no lookup (see the module doc).
        ``decide``, when given, is :meth:`decide` of the partnership, made already."""
        events = window.contributions if only is None else within(window, only)
        consent = self.moment.consent
        if not self.remember or not (consent is NO_CONSENT or _silent(consent)):
            return seen_of(events, decide or self.decide(partnership_id))
        policy = self.moment.policy
        key = (id(policy), policy.interval(self.moment.at), partnership_id, tuple(map(id, events)))
        known = _SEEN.get(key)
        if known is not None and known[0] is policy and all(map(operator.is_, known[1], events)):
            return known[2]
        seen = seen_of(events, decide or self.decide(partnership_id))
        if len(_SEEN) >= SEEN_MAX:
            _SEEN.popitem(last=False)  # the oldest
        _SEEN[key] = (policy, tuple(events), seen)
        return seen

    def _table(self, partnership_id: str, view: ConsentView) -> dict[_Class, Decision]:
        """The partnership's decisions by event class under ``view``: this dispatch's, or,
        for a consent state that answers nothing, those of every dispatch in the interval."""
        key = (id(view), partnership_id)
        table = self._tables.get(key)
        if table is not None:
            return table
        if view is NO_CONSENT or _silent(view):
            policy = self.moment.policy
            shared = (id(policy), policy.interval(self.moment.at), partnership_id)
            found = _TABLES.get(shared)
            if found is None or found[0] is not policy or len(found[1]) >= _TABLE_MAX:
                if len(_TABLES) >= _TABLES_MAX or _TABLES_OF[0] is not policy:
                    _TABLES.clear()
                    _TABLES_OF[0] = policy
                found = _TABLES[shared] = (policy, {})  # held, so its id is not reused
            table = found[1]
        else:
            table = {}
        self._tables[key] = table
        self._views.append(view)
        return table

    def _class_of(self, contribution: Contribution) -> tuple[EventFacts, _Class]:
        """A contribution's facts and class: found once per dispatch, or, remembering, once
        per contribution object, token and evaluator (a subject's contributions are decided
        again at each of its dispatches)."""
        policy, token = self.moment.policy, self.token
        if not self.remember:
            facts = event_facts(contribution, token)
            found = self._classes[contribution.event_id] = (facts, policy.event_class(facts))
            return found
        known = _CLASSES.get(id(contribution))
        if (
            known is None
            or known[0] is not contribution
            or known[1] is not policy
            or known[2] != token
        ):
            facts = event_facts(contribution, token)
            known = (contribution, policy, token, facts, policy.event_class(facts))
            if len(_CLASSES) >= _CLASSES_MAX:
                _CLASSES.popitem(last=False)  # the oldest
            _CLASSES[id(contribution)] = known  # held, so that its id is not reused
        found = self._classes[contribution.event_id] = (known[3], known[4])
        return found


def _silent(consent: ConsentView) -> bool:
    """Whether a consent state answers every lookup with None, whatever the time."""
    return isinstance(consent, ConsentLedger) and not consent.records
