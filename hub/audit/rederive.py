"""Taking one ledger decision again from its own inputs (see :mod:`hub.audit.replay`).

:class:`Rederiver` never reads the recorded outcome, agreement, consent or ids: from the
entry it takes only its position, its event ids, its rule id and its recipient, the question
that was asked. Everything else is derived from the streams (:class:`History`), the rules and
the registry. The inputs shared by every partnership's entry of one dispatch (events, flag,
sequence, consent state) are derived once (:class:`Basis`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.alerts import AlertKind
from hub.audit.history import History, Located
from hub.consent import ConsentLedger
from hub.dispatch import (
    DecisionRecord,
    Moment,
    Position,
    alert_id_of,
    alert_revision,
    closed_alert_id,
    consents_consulted,
    decision_ids,
    event_facts,
)
from hub.dsa import Evaluator, EventFacts
from hub.errors import RuleError
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
from hub.registry import Registry
from hub.rules import Rule, RuleSet


class UnreplayableError(Exception):
    """An entry lacks, or points at, inputs that cannot be found: a mismatch on ``field``."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field_name = field_name
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Basis:
    """What one dispatch decided from: time, position, sequence, events, flag, consent."""

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


@dataclass(frozen=True, slots=True)
class Derived:
    """A re-derived decision and the events it rests on (in the entry's order)."""

    record: DecisionRecord
    events: tuple[Located, ...]


class Rederiver:
    """Re-decides ledger entries against a :class:`History`, the rules and the registry."""

    def __init__(
        self, history: History, rules: RuleSet, registry: Registry, areas: AreaLookup
    ) -> None:
        self.history = history
        self._rules = rules
        self._registry = registry
        self._areas = areas
        self._evaluators: dict[int, Evaluator] = {}
        self._sent: dict[tuple[str, str], str] = {}
        self._closed: dict[tuple[str, str], int] = {}
        self._last: tuple[tuple[Any, ...], Basis] | None = None

    def rederive(self, recorded: DecisionRecord) -> Derived:
        """The decision taken again from the entry's inputs; UnreplayableError if it cannot be."""
        basis = self.basis(recorded)
        evaluator = self._evaluator(basis.sequence)
        pid, at = recorded.recipient, basis.at
        decisions = [evaluator.decide(f, pid, at, basis.consent) for f in basis.facts]
        visible = [c for c, d in zip(basis.members, decisions, strict=True) if d.permitted]
        permit = bool(visible) and still_holds(basis.rule, visible)
        moment = Moment(at, evaluator, basis.sequence, position=basis.position)
        events = tuple(c.event_id for c in basis.members)
        decision_id, inputs = decision_ids(basis.flag, events, pid, moment)
        record = DecisionRecord(
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
            decisions=tuple(decisions),
            alert_id=self._alert(basis.flag, pid, [c.event_id for c in visible], permit=permit),
            position=basis.position,
            consents=consents_consulted(basis.consent, basis.token, at, basis.members, decisions),
            severity=basis.severity,
        )
        return Derived(record, basis.located)

    def basis(self, recorded: DecisionRecord) -> Basis:
        """The inputs of the entry's dispatch (cached for consecutive entries of one dispatch)."""
        key = (recorded.position, recorded.events, recorded.rule_id)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        position = recorded.position
        if position is None:
            raise UnreplayableError("position", "the entry names no stream position")
        at = self.history.timestamp(position.partition, position.offset)
        if at is None:
            raise UnreplayableError("position", "no accepted record at that position")
        located = self._events(recorded.events, position)
        token = located[0].event.subject_token or ""
        members = self._contributions(located)
        rule = self._rule(recorded.rule_id)
        labelled = qualifying(rule, members)
        if len(labelled) != len(members) or not holds(rule, labelled):
            raise UnreplayableError("flag_id", "the rule does not hold on the entry's events")
        ids = frozenset(c.event_id for c in members)
        level = severity(rule, labelled)
        flag = (flag_id(rule.id, token, members[0].occurred_at), revision(rule.version, level, ids))
        by_id = {e.event.event_id: e for e in located}
        basis = Basis(
            at=at,
            position=position,
            sequence=self.history.sequence_at(position.partition, position.offset),
            located=tuple(by_id[c.event_id] for c in members),
            token=token,
            members=tuple(members),
            rule=rule,
            flag=flag,
            consent=self.history.consent_at(token, position.partition, position.offset),
            severity=level,
            facts=tuple(event_facts(c, token) for c in members),
        )
        self._last = (key, basis)
        return basis

    def _events(self, event_ids: tuple[str, ...], position: Position) -> list[Located]:
        if not event_ids:
            raise UnreplayableError("events", "the entry names no event")
        located = []
        for event_id in event_ids:
            found = self.history.event(event_id)
            if found is None:
                raise UnreplayableError("events", f"event {event_id} is not in the accepted topic")
            if (found.partition, found.offset) > (position.partition, position.offset) or (
                found.partition != position.partition
            ):
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
            council = self._areas.council(item.event.envelope.lsoa)
            contribution = contribution_of(item.event, council, self._rules)
            if contribution is None:
                raise UnreplayableError("events", f"event {item.event.event_id} feeds no rule")
            members.append(contribution)
        return sorted(members, key=lambda c: c.key)

    def _rule(self, rule_id: str) -> Rule:
        try:
            return self._rules.get(rule_id)
        except RuleError as exc:
            raise UnreplayableError("rule_id", "no such rule in the rule set") from exc

    def _evaluator(self, sequence: int) -> Evaluator:
        evaluator = self._evaluators.get(sequence)
        if evaluator is None:
            evaluator = Evaluator(self.history.book.up_to(sequence), self._registry)
            self._evaluators[sequence] = evaluator
        return evaluator

    def _alert(
        self, flag: tuple[str, str], pid: str, visible: list[str], *, permit: bool
    ) -> str | None:
        """A permit's alert id; a deny's retraction id if the partnership held the flag."""
        key = (flag[0], pid)
        if not permit:
            last = self._sent.pop(key, None)
            if last is None:
                return None
            self._closed[key] = self._closed.get(key, 0) + 1
            return closed_alert_id(flag[0], AlertKind.RETRACTED, last)
        sent = alert_revision(flag[1], pid, visible, self._closed.get(key, 0))
        self._sent[key] = sent
        return alert_id_of(flag[0], sent)
