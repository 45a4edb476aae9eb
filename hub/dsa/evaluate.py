"""Deciding a disclosure: default deny, prohibitions win, versions in force at the moment.

:class:`Evaluator` is pure: the same book, registry, event, recipient, moment, purpose and
consent state always give the same :class:`~hub.dsa.decision.Decision`. It memoises the
index of the agreements in force per interval of the book's breakpoints, and decisions (see
:meth:`Evaluator.outcome`): one that consulted consent is remembered with the consent facts
it consulted, so a grant or withdrawal between two identical questions is never a stale hit.

The questions asked, their order and the reasons given are :mod:`hub.dsa.assess`'s.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

from pydantic import BaseModel

from hub.dsa.assess import Ask, answer, unknown_recipient
from hub.dsa.book import AgreementBook
from hub.dsa.decision import Decision, FlagDecision
from hub.dsa.depersonalised import is_depersonalised
from hub.dsa.document import AgeScope, Agreement
from hub.dsa.facts import NO_CONSENT, ConsentRef, ConsentView, EventFacts
from hub.dsa.index import PolicyIndex, build_index
from hub.dsa.suspension import Party
from hub.dsa.vocabulary import Outcome, Purpose
from hub.errors import PolicyError
from hub.registry import Registry


class Evaluator:
    """Decides disclosures against an agreement book and the registry's geography."""

    __slots__ = (
        "_ages",
        "_at",
        "_barred",
        "_book",
        "_breakpoints",
        "_by_consent",
        "_cache",
        "_consulting",
        "_decided",
        "_partnerships",
        "_registry",
        "_slot",
    )

    def __init__(self, book: AgreementBook, registry: Registry) -> None:
        self._book = book
        self._registry = registry
        self._breakpoints = book.breakpoints()
        self._ages = _age_cuts(book)
        self._partnerships = frozenset(p.id for p in registry.partnerships)
        self._cache: dict[tuple[int, bool], PolicyIndex] = {}
        self._barred: dict[int, frozenset[tuple[Party, str]]] = {}
        self._decided: dict[_Key, Decision] = {}
        self._consulting: dict[_Key, tuple[Purpose, ...]] = {}
        self._by_consent: dict[tuple[_Key, _Facts], Decision] = {}
        self._at: datetime | None = None
        self._slot = 0

    @property
    def book(self) -> AgreementBook:
        """The agreement history decisions are taken against."""
        return self._book

    def index_at(self, at: datetime, *, aggregate: bool = False) -> PolicyIndex:
        """The index of agreements in force at ``at`` (memoised per interval).

        Depersonalised (s17A aggregate) agreements bear only on aggregate asks (``aggregate``,
        the purpose ``strategic_needs_assessment``): they never take part in, nor change the
        reasons of, a decision about a disclosure of records.
        """
        if at.tzinfo is None:
            raise PolicyError("decision time has no time zone")
        slot = bisect_right(self._breakpoints, at)
        index = self._cache.get((slot, aggregate))
        if index is None:
            agreements = self._book.in_force(at)
            if not aggregate:
                agreements = tuple(a for a in agreements if not is_depersonalised(a))
            index = build_index(agreements, self._registry)
            self._cache[(slot, aggregate)] = index
        return index

    def suspended_at(self, at: datetime) -> frozenset[tuple[Party, str]]:
        """The parties suspended at ``at`` (memoised per interval)."""
        slot = bisect_right(self._breakpoints, at)
        barred = self._barred.get(slot)
        if barred is None:
            barred = self._book.suspended(at)
            self._barred[slot] = barred
        return barred

    def decide(
        self,
        event: EventFacts,
        recipient: str,
        at: datetime,
        consent: ConsentView = NO_CONSENT,
        purpose: Purpose = Purpose.SERIOUS_VIOLENCE_PREVENTION,
    ) -> Decision:
        """Permit or deny one event to one recipient at ``at``.

        A decision depends only on the agreements in force (the interval of ``at``), the
        event's agency, type, council and age (as far as the book's age scopes tell ages
        apart), the recipient, the purpose, and the answers of the consent state to the lookups
        it made: it is remembered per those, and given again with the event's id and time.
        """
        found = self._decided.get(self._key(event, recipient, at, purpose))
        if found is None:
            found = self.outcome(event, recipient, at, consent, purpose)
        if found.event_id == event.event_id and found.at is at:
            return found
        return found.restamped(event.event_id, at)

    def outcome(
        self,
        event: EventFacts,
        recipient: str,
        at: datetime,
        consent: ConsentView = NO_CONSENT,
        purpose: Purpose = Purpose.SERIOUS_VIOLENCE_PREVENTION,
    ) -> Decision:
        """:meth:`decide`'s decision in all but ``event_id`` and ``at``, which may be another
        event's: for a caller that needs only the outcome, fields and clauses (cheaper).

        A decision that consulted no consent is remembered per its inputs. One that did is
        remembered per its inputs and the consent facts it consulted: which consent (id and
        time given), if any, the state has for the subject, each consent purpose asked and the
        flow at ``at``. The purposes asked follow from the inputs alone, so a later call asks
        the state the same lookups again and hits only when every answer is the same.
        """
        key = self._key(event, recipient, at, purpose)
        known = self._decided.get(key)
        if known is not None:
            return known
        token = event.subject_token
        asked = self._consulting.get(key) if token is not None else ()
        if asked is not None:
            facts = _consent_facts(consent, event, recipient, at, asked)
            known = self._by_consent.get((key, facts))
            if known is not None:
                return known
        index = self.index_at(at, aggregate=purpose is Purpose.STRATEGIC_NEEDS_ASSESSMENT)
        recorder = _Recorder(consent)
        decision, consulted = self._decide(Ask(event, recipient, at, purpose, recorder), index)
        if not consulted:
            if len(self._decided) >= _DECIDED_MAX:
                self._decided.clear()
            self._decided[key] = decision
            return decision
        if len(self._by_consent) >= _DECIDED_MAX:
            self._by_consent.clear()
            self._consulting.clear()
        if token is not None:
            self._consulting[key] = tuple(p for p, _ in recorder.seen)
        facts = None if token is None else tuple(f for _, f in recorder.seen)
        self._by_consent[(key, facts)] = decision
        return decision

    def outcomes(
        self,
        events: Iterable[EventFacts],
        recipient: str,
        at: datetime,
        consent: ConsentView = NO_CONSENT,
        purpose: Purpose = Purpose.SERIOUS_VIOLENCE_PREVENTION,
    ) -> list[Decision]:
        """:meth:`outcome` for each event, in order, to one recipient at one moment: the
        interval of ``at`` is found once, and a remembered decision is a dictionary lookup."""
        decided, kind = self._decided, self.event_class
        found: list[Decision] = []
        for event in events:
            # self._key, written out: this runs per event and partnership of every dispatch
            # (the interval of ``at`` is kept by the first call)
            slot = self.interval(at) if at is not self._at else self._slot
            known = decided.get((slot, *kind(event), recipient, purpose))
            found.append(
                known if known is not None else self.outcome(event, recipient, at, consent, purpose)
            )
        return found

    def event_class(self, event: EventFacts) -> tuple[str, str, str | None, int | None]:
        """What a decision reads of an event: its agency, type, council and age band. Two
        events of one class get the same decisions (but for event id and time) from one
        book at one interval, recipient, purpose and consent answers: the one definition of
        that, for this engine's memo and the audit replay's (:mod:`hub.audit.lane`)."""
        age = event.age
        band = None if age is None else bisect_right(self._ages, age)
        return event.agency_id, event.event_type, event.council, band

    def age_band(self, age: int | None) -> int | None:
        """The band of ages the book's age scopes all treat as they treat ``age`` (None for
        an unknown age): every decision is the same for two ages of one band."""
        return None if age is None else bisect_right(self._ages, age)

    def _key(self, event: EventFacts, recipient: str, at: datetime, purpose: Purpose) -> _Key:
        """What a decision depends on besides consent: the interval of ``at`` in the book
        (kept for the last ``at``: callers decide many events at one moment), the event's
        agency, type, council and age band, the recipient and the purpose.

        An age counts only through the book's age scopes (:func:`_age_cuts`): ages that every
        scope of every agreement treats alike share their decisions.
        """
        return (self.interval(at), *self.event_class(event), recipient, purpose)

    def interval(self, at: datetime) -> int:
        """The interval of ``at`` between the book's breakpoints (kept for the last ``at``):
        at two times of one interval, the same inputs and consent answers give the same
        decision (but for its time)."""
        if at is not self._at:
            if at.tzinfo is None:
                raise PolicyError("decision time has no time zone")
            self._slot = bisect_right(self._breakpoints, at)
            self._at = at
        return self._slot

    def _decide(self, ask: Ask, index: PolicyIndex) -> tuple[Decision, bool]:
        """The decision, and whether a consent record may have been consulted for it."""
        if ask.recipient not in self._partnerships:
            return unknown_recipient(ask), False
        return answer(ask, index, self.suspended_at(ask.at))

    def decide_flag(
        self,
        events: Iterable[EventFacts],
        recipient: str,
        at: datetime,
        consent: ConsentView = NO_CONSENT,
        purpose: Purpose = Purpose.SERIOUS_VIOLENCE_PREVENTION,
    ) -> FlagDecision:
        """Decide every event behind a flag: permit only when each one is permitted."""
        decisions = tuple(self.decide(e, recipient, at, consent, purpose) for e in events)
        permitted = bool(decisions) and all(d.permitted for d in decisions)
        return FlagDecision(
            outcome=Outcome.PERMIT if permitted else Outcome.DENY, decisions=decisions
        )


_Key = tuple[int, str, str, str | None, int | None, str, Purpose]
_Fact = tuple[str, datetime] | None
"""A consent lookup's answer: the consent's id and the time it was given, or None."""
_Facts = tuple[_Fact, ...] | None
"""The answers to a decision's consent lookups, in order (None: the event has no subject)."""


class _Recorder:
    """A :class:`ConsentView` that notes each lookup's purpose and answer."""

    __slots__ = ("_view", "seen")

    def __init__(self, view: ConsentView) -> None:
        self._view = view
        self.seen: list[tuple[Purpose, _Fact]] = []

    def consent_for(
        self, subject_token: str, purpose: Purpose, provider: str, recipient: str, at: datetime
    ) -> ConsentRef | None:
        found = self._view.consent_for(subject_token, purpose, provider, recipient, at)
        self.seen.append((purpose, _fact(found)))
        return found


def _fact(found: ConsentRef | None) -> _Fact:
    return None if found is None else (found.consent_id, found.given_at)


def _consent_facts(
    consent: ConsentView,
    event: EventFacts,
    recipient: str,
    at: datetime,
    asked: tuple[Purpose, ...],
) -> _Facts:
    """The consent state's answers to the lookups a decision with these inputs makes."""
    token = event.subject_token
    if token is None:
        return None
    if consent is NO_CONSENT:  # an empty book: no lookup finds a consent
        return (None,) * len(asked)
    agency = event.agency_id
    return tuple(_fact(consent.consent_for(token, p, agency, recipient, at)) for p in asked)


_DECIDED_MAX = 16384


def _age_cuts(book: AgreementBook) -> tuple[int, ...]:
    """Where some age scope of the book starts or stops holding, sorted: two ages with no
    cut between them are in or out of every scope alike (a decision asks an age nothing but
    :meth:`~hub.dsa.document.AgeScope.contains`, and whether it is known)."""
    cuts: set[int] = set()
    for entry in book.entries:
        cuts |= _agreement_cuts(entry.agreement)
    return tuple(sorted(cuts))


def _agreement_cuts(agreement: Agreement) -> frozenset[int]:
    """One agreement's age cuts (:func:`_age_cuts`), remembered by the agreement object.

    An agreement is immutable, and a book built after a publication holds the agreement
    objects of the book before it, so each evaluator built after the first finds its cuts
    without walking every model again (the walk was 3 ms of an evaluator's 4). Bounded: the
    memo forgets everything when full. It holds each agreement it keys, so no other object
    can have that id while the entry lasts.
    """
    known = _CUTS.get(id(agreement))
    if known is not None:
        return known[1]
    cuts: set[int] = set()
    for scope in _scopes(agreement):
        if scope.min is not None:
            cuts.add(scope.min)
        if scope.max is not None:
            cuts.add(scope.max + 1)
    if len(_CUTS) >= _CUTS_MAX:
        _CUTS.clear()
    found = frozenset(cuts)
    _CUTS[id(agreement)] = (agreement, found)
    return found


_CUTS_MAX = 1024
"""Agreement versions whose age cuts are remembered (a region publishes tens)."""
_CUTS: dict[int, tuple[Agreement, frozenset[int]]] = {}


def _scopes(value: object) -> Iterator[AgeScope]:
    """Every age scope held anywhere in ``value`` (models, and the collections they hold)."""
    if isinstance(value, AgeScope):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _scopes(getattr(value, name))
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _scopes(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _scopes(item)
