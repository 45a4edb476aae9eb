"""Taking one ledger decision again from its own inputs (see :mod:`hub.audit.replay`).

:class:`Rederiver` never reads the recorded outcome, agreement, consent or ids: from the
entry it takes only its position, its event ids, its rule id and its recipient, the question
that was asked, and the consent ends and feed watermark it names (``consent_read``): each end
is looked up on the accepted topic and folded at the decision's time. Everything else is
derived from the streams (:class:`History`), the rules and the registry. The inputs shared
by every partnership's entry of one dispatch (events, flag, sequence, consent state) are
derived once (:class:`Basis`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.audit.answer import Answer
from hub.audit.held import Held, nothing
from hub.audit.history import History
from hub.audit.question import Question
from hub.consent import CONSENT_ENDS, ConsentLedger
from hub.dispatch import (
    DecisionRecord,
    Moment,
    Position,
    consent_read_of,
    consents_consulted,
    decision_ids,
    event_facts,
    inputs_digest,
)
from hub.dsa import NO_CONSENT, Clause, Decision, Evaluator, EventFacts
from hub.errors import ConsentError, RuleError
from hub.flags import (
    Contribution,
    contribution_of,
    flag_id,
    holds,
    qualifying,
    revision,
    still_holds,
)
from hub.flags.match import severity
from hub.geo import AreaLookup
from hub.idkey import IdKey
from hub.models.accepted import Located
from hub.registry import Registry
from hub.rules import Rule, RuleSet


class UnreplayableError(Exception):
    """An entry lacks, or points at, inputs that cannot be found: a mismatch on ``field``."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


@dataclass(slots=True)
class Basis:
    """What one dispatch decided from: time, position, sequence, events, flag, consent.

    Not frozen (built for nearly every entry, and cheaper so); never changed once built.
    """

    at: datetime
    position: Position
    sequence: int
    located: tuple[Located, ...]
    token: str
    members: tuple[Contribution, ...]
    rule: Rule
    flag: tuple[str, str]
    consent: ConsentLedger
    severity: str
    facts: tuple[EventFacts, ...]
    """The members as the agreements see them (shared by every recipient's entry)."""
    events: tuple[str, ...]
    """The members' event ids, in order."""
    ids: frozenset[str]
    """The members' event ids."""
    inputs: str
    """The inputs digest of the flag's decisions at the sequence (every recipient's)."""
    agencies: tuple[str, ...]
    """The members' publishers, in order (what the summary counts)."""
    flagged: _Flagged
    """What the members make under the rule (the fast lane remembers verdicts per it)."""


@dataclass(frozen=True, slots=True)
class _Flagged:
    """What an entry's events make under its rule, whatever the position it was decided at."""

    located: tuple[Located, ...]
    token: str
    members: tuple[Contribution, ...]
    rule: Rule
    flag: tuple[str, str]
    severity: str
    facts: tuple[EventFacts, ...]
    events: tuple[str, ...]
    ids: frozenset[str]
    agencies: tuple[str, ...]
    reach: tuple[int | None, int]
    """The events' partition (None when they are in several) and their last offset."""
    inputs: dict[int, str] = field(default_factory=dict)
    """The inputs digest of the flag's decisions, by agreement sequence (filled on use)."""

    def inputs_at(self, sequence: int) -> str:
        """The inputs digest of the flag's decisions under the agreements at ``sequence``."""
        found = self.inputs.get(sequence)
        if found is None:
            found = self.inputs[sequence] = inputs_digest(self.flag, self.events, sequence)
        return found

    def precede(self, position: Position) -> bool:
        """Whether every event was accepted at or before ``position``, in its partition."""
        partition, last = self.reach
        return partition == position.partition and last <= position.offset


@dataclass(slots=True)
class Derived:
    """A re-derived decision and the events it rests on (in the entry's order)."""

    answer: Answer
    events: tuple[Located, ...]
    question: Question
    """The question it was derived from."""
    change: Callable[[], None]
    """What the decision changes in the flags replay holds, when not made yet."""
    agencies: tuple[str, ...] = ()
    """The events' publishers, in order."""
    _record: DecisionRecord | None = None

    def commit(self) -> None:
        """Make the decision's change to the flags held (once)."""
        change, self.change = self.change, nothing
        change()

    @property
    def record(self) -> DecisionRecord:
        """The re-derived record as a model (built on first use)."""
        if self._record is None:
            self._record = self.answer.record()
        return self._record


class Rederiver:
    """Re-decides ledger entries against a :class:`History`, the rules and the registry.

    ``id_keys`` (partnership -> :class:`IdKey`) re-derive the partnerships' own flag and
    alert ids; the auditor derives them from the hub's keyring (``hub audit replay``).
    """

    def __init__(
        self,
        history: History,
        rules: RuleSet,
        registry: Registry,
        areas: AreaLookup,
        id_keys: Mapping[str, IdKey] | None = None,
    ) -> None:
        self.history = history
        self._rules = rules
        self._registry = registry
        self._areas = areas
        self._evaluators: dict[int, Evaluator] = {}
        self._held = Held(id_keys or {})
        self._bases: dict[tuple[Any, ...], Basis] = {}
        self._contributed: dict[str, Contribution | None] = {}
        self._seen_facts: dict[str, EventFacts] = {}
        self._flags: dict[tuple[tuple[str, ...], str], _Flagged | None] = {}
        self._consent_clauses: dict[int, tuple[tuple[Clause, ...], bool]] = {}

    @property
    def held(self) -> Held:
        """The flags each partnership holds, from the permits re-derived so far."""
        return self._held

    @property
    def subjects(self) -> set[str]:
        """Every subject whose held flags a re-derivation read (:class:`~hub.audit.held.Held`)."""
        return self._held.subjects

    def rederive(self, recorded: Question, *, commit: bool = True) -> Derived:
        """The decision taken again from the entry's question; UnreplayableError if it cannot be.

        Later entries' alert ids depend on the flags this one leaves each partnership
        holding: without ``commit``, that change waits for :meth:`Derived.commit`.
        """
        basis = self.basis(recorded)
        evaluator = self.evaluator(basis.sequence)
        pid, at = recorded.recipient, basis.at
        # a subject without consent records is asked about as the empty book (cheaper lookups)
        view = basis.consent if basis.consent.records else NO_CONSENT
        decisions = [evaluator.outcome(f, pid, at, view) for f in basis.facts]
        visible = [c for c, d in zip(basis.members, decisions, strict=True) if d.permitted]
        permit = bool(visible) and still_holds(basis.rule, visible)
        moment = Moment(at, evaluator, basis.sequence, position=basis.position)
        events = basis.events
        decision_id, inputs = decision_ids(basis.flag, events, pid, moment, basis.inputs)
        own, alert_id, change = (
            self._held.permit(basis, pid) if permit else self._held.deny(basis, pid)
        )
        answer = Answer(
            decision_id=decision_id,
            decided_at=at,
            recipient=pid,
            flag_id=basis.flag[0],
            rule_id=basis.rule.id,
            rule_version=basis.rule.version,
            policy_sequence=basis.sequence,
            outcome="permit" if permit else "deny",
            events=events,
            inputs_digest=inputs,
            outcomes=tuple(decisions),
            alert_id=alert_id,
            position=basis.position,
            consents=consents_consulted(basis.consent, basis.token, at, basis.members, decisions)
            if self.consulting(decisions)
            else (),
            severity=basis.severity,
            recipient_flag_id=own,
            consent_read=None
            if recorded.watermark is None and not basis.consent.ends
            else consent_read_of(basis.consent, recorded.watermark),
        )
        if commit:
            change()
            change = nothing
        return Derived(answer, basis.located, recorded, change, basis.agencies)

    def consulting(self, decisions: Iterable[Decision]) -> bool:
        """Whether any decision has a consent clause (else no consent record was consulted:
        :func:`consents_consulted` is empty). Known per remembered decision's clauses."""
        for decision in decisions:
            clauses = decision.clauses
            known = self._consent_clauses.get(id(clauses))
            if known is None or known[0] is not clauses:
                known = (clauses, any(c.clause == "consent" for c in clauses))
                if len(self._consent_clauses) >= _KNOWN_MAX:
                    self._consent_clauses.clear()
                self._consent_clauses[id(clauses)] = known
            if known[1]:
                return True
        return False

    def basis(self, recorded: Question) -> Basis:
        """The inputs of the entry's dispatch (remembered per position, events, rule and
        consent ends: every partnership's entry of one dispatch shares them)."""
        position = recorded.position
        if position is None:
            raise UnreplayableError("position", "the entry names no stream position")
        place = (position.partition, position.offset)
        key = (*place, recorded.events, recorded.rule_id, recorded.ends)
        known = self._bases.get(key)
        if known is not None:
            return known
        at = self.history.timestamp(position.partition, position.offset)
        if at is None:
            raise UnreplayableError("position", "no accepted record at that position")
        flagged = self._flagged(recorded.events, recorded.rule_id)
        if flagged is None or not flagged.precede(position):
            flagged = self._flag_of(recorded.events, recorded.rule_id, position)
        sequence = self.history.sequence_at(position.partition, position.offset)
        basis = Basis(
            at=at,
            position=position,
            sequence=sequence,
            located=flagged.located,
            token=flagged.token,
            members=flagged.members,
            rule=flagged.rule,
            flag=flagged.flag,
            consent=self._consent(recorded, flagged.token, position, at),
            severity=flagged.severity,
            facts=flagged.facts,
            events=flagged.events,
            ids=flagged.ids,
            inputs=flagged.inputs_at(sequence),
            agencies=flagged.agencies,
            flagged=flagged,
        )
        if len(self._bases) >= _KNOWN_MAX:
            self._bases.clear()
        self._bases[key] = basis
        return basis

    def _flagged(self, events: tuple[str, ...], rule_id: str) -> _Flagged | None:
        """The flag an entry's events make under its rule, wherever it was decided.

        The same flag is decided again at many positions (ticks, switches, consent), so it is
        derived once; None when it cannot be, and :meth:`_flag_of` then says why.
        """
        key = (events, rule_id)
        if key not in self._flags:
            if len(self._flags) >= _KNOWN_MAX:
                self._flags.clear()  # bounded: a hostile ledger names ever new events
            try:
                self._flags[key] = self._flag_of(events, rule_id, None)
            except UnreplayableError:
                self._flags[key] = None
        return self._flags[key]

    def _flag_of(
        self, event_ids: tuple[str, ...], rule_id: str, position: Position | None
    ) -> _Flagged:
        """The flag, its events checked to precede ``position`` (when given)."""
        located = self._events(event_ids, position)
        token = located[0].event.subject_token or ""
        members = self._contributions(located)
        rule = self._rule(rule_id)
        labelled = qualifying(rule, members)
        if len(labelled) != len(members) or not holds(rule, labelled):
            raise UnreplayableError("flag_id", "the rule does not hold on the entry's events")
        ids = frozenset(c.event_id for c in members)
        level = severity(rule, labelled)
        flag = (flag_id(rule.id, token, members[0].occurred_at), revision(rule.version, level, ids))
        by_id = {e.event.event_id: e for e in located}
        ordered = tuple(by_id[c.event_id] for c in members)
        return _Flagged(
            located=ordered,
            token=token,
            members=tuple(members),
            rule=rule,
            flag=flag,
            severity=level,
            facts=tuple(self._facts(c, token) for c in members),
            events=tuple(c.event_id for c in members),
            ids=ids,
            agencies=tuple(e.event.envelope.agency_id for e in ordered),
            reach=(
                located[0].partition if len({e.partition for e in located}) == 1 else None,
                max(e.offset for e in located),
            ),
        )

    def _consent(
        self, recorded: Question, token: str, position: Position, at: datetime
    ) -> ConsentLedger:
        """The consent state at the position, with the ends the entry read from the feeds.

        Those ends reach the accepted topic later (or earlier: folding one again is a no-op),
        so each is looked up there by id; one that is not a consent end of the subject is
        unreplayable. They take effect at the decision's time, as the worker folds them.
        """
        ledger = self.history.consent_at(token, position.partition, position.offset)
        for event_id in recorded.ends:
            event = self.history.consent_event(token, event_id)
            if event is None or event.event_type not in CONSENT_ENDS:
                raise UnreplayableError("consent_read", "names no consent end of the subject")
            with suppress(ConsentError):
                ledger = ledger.apply(event, at)
        return ledger

    def _events(self, event_ids: tuple[str, ...], position: Position | None) -> list[Located]:
        if not event_ids:
            raise UnreplayableError("events", "the entry names no event")
        located = []
        for event_id in event_ids:
            found = self.history.event(event_id)
            if found is None:
                raise UnreplayableError("events", f"event {event_id} is not in the accepted topic")
            if position is not None and not _precedes(found, position):
                raise UnreplayableError("events", f"event {event_id} is not before the decision")
            located.append(found)
        if (
            len({e.event.subject_token for e in located}) != 1
            or located[0].event.subject_token is None
        ):
            raise UnreplayableError("events", "the events are not about one subject")
        return located

    def _contributions(self, located: list[Located]) -> list[Contribution]:
        members = []
        for item in located:
            event_id = item.event.event_id
            if event_id in self._contributed:
                contribution = self._contributed[event_id]
            else:
                council = self._areas.council(item.event.envelope.lsoa)
                contribution = contribution_of(item.event, council, self._rules)
                self._contributed[event_id] = contribution
            if contribution is None:
                raise UnreplayableError("events", f"event {event_id} feeds no rule")
            members.append(contribution)
        return sorted(members, key=lambda c: c.key)

    def _facts(self, contribution: Contribution, token: str) -> EventFacts:
        """An event as the agreements see it (one per event: the history does not change)."""
        found = self._seen_facts.get(contribution.event_id)
        if found is None or found.subject_token != token:
            found = event_facts(contribution, token)
            self._seen_facts[contribution.event_id] = found
        return found

    def _rule(self, rule_id: str) -> Rule:
        try:
            return self._rules.get(rule_id)
        except RuleError as exc:
            raise UnreplayableError("rule_id", "no such rule in the rule set") from exc

    def evaluator(self, sequence: int) -> Evaluator:
        """The agreements engine over the book at ``sequence`` (one per sequence)."""
        evaluator = self._evaluators.get(sequence)
        if evaluator is None:
            evaluator = Evaluator(self.history.book.up_to(sequence), self._registry)
            self._evaluators[sequence] = evaluator
        return evaluator


_KNOWN_MAX = 16_384


def _precedes(located: Located, position: Position) -> bool:
    """Whether an event was accepted at or before ``position``, in its partition."""
    return located.partition == position.partition and located.offset <= position.offset
