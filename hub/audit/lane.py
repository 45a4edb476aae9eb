"""The fast lane of replay: an entry's expected bytes, from answers remembered per input.

Most ledger entries are the record the live path wrote, and most of what such a record holds
repeats across thousands of entries: a flag is decided again at many positions, for each
partnership, under few agreement versions and time intervals. :class:`Lane` re-derives an
entry (:meth:`Lane.expect`) in three parts, each computed once per distinct input:

- the **place** (per stream position): its authenticated time, that time as the record and
  the decision id write it, the agreement sequence in force, and the interval of the book
  the time falls in (:class:`_Place`);
- the **verdict** (:func:`verdict_key`): the agreements engine's decisions on the flag's
  events for the partnership, whether the rule still holds on those permitted, and whether
  any consulted consent. It depends on the flag (its events as the agreements see them and
  its rule), the agreement sequence, the interval of the book at the decision's time (the
  engine decides alike within one: :meth:`hub.dsa.Evaluator.decide`), the partnership and
  the subject's consent state. It is remembered only when the subject has no consent record
  (the empty book answers every lookup alike); a subject with one is decided afresh;
- the **head** of the record (everything up to its decisions, per flag, sequence,
  partnership, outcome and the engine's decisions), as bytes cut around the decision id and
  the decision's time, so that an entry's head is one join.

What varies per entry is computed per entry: the decision id (one SHA-256, :mod:`hub.audit.ids`),
the alert ids and the change to the flags each partnership holds (``Rederiver``'s own
state, in ledger order), the consent records consulted and the consent read.

The lane only says what bytes an entry should have. The replayer counts an entry whose bytes
are these (:meth:`hub.audit.replay.Replayer.replay`); any other entry, and any entry the
lane cannot re-derive, takes the full path, which re-derives it without these memos and
names each difference. So the lane changes what replay costs, never what it reports (a unit
test compares the two on tampered ledgers, byte for byte).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import orjson

from hub.audit.answer import Forms, time_text
from hub.audit.ids import decision_id_of
from hub.audit.question import Question
from hub.audit.rederive import Basis, Rederiver, UnreplayableError
from hub.consent import ConsentLedger
from hub.dispatch import ConsentRead, Position, consent_read_of, consents_consulted
from hub.dsa import NO_CONSENT, ConsentView, Decision, Evaluator
from hub.flags import still_holds

_MEMO_MAX = 65_536


@dataclass(frozen=True, slots=True)
class _Place:
    """What an entry's stream position determines (shared by every entry taken there)."""

    at: datetime
    text: bytes
    """The time as a record writes it, with its opening quote."""
    iso: str
    """The time as the decision id hashes it."""
    sequence: int
    slot: int
    """The interval of the agreement book ``at`` falls in (its breakpoints bisected)."""
    where: str
    """The position as the decision id hashes it."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The engine's decisions on a flag's events for one partnership, and what follows."""

    outcomes: tuple[Decision, ...]
    permit: bool
    consulting: bool
    """Whether any decision has a consent clause (then the consent records are listed)."""


VerdictKey = tuple[int, int, str]
"""(the flag's facts class, the interval of the book, the partnership): what the engine's
decisions on a flag's events depend on when the subject has no consent record (see
:func:`facts_class`)."""

FactsClass = tuple[int, tuple[tuple[str, str, str | None, int | None], ...]]
"""The agreement sequence, and per event (in order) its agency, type, council and age band."""


@dataclass(slots=True)
class Expected:
    """An entry's expected bytes, and what counting it does."""

    value: bytes
    change: Callable[[], None]
    """The entry's change to the flags held (made once the entry is counted)."""
    outcome: str
    retraction: bool
    outcomes: tuple[Decision, ...]
    agencies: tuple[str, ...]


def facts_class(basis: Basis, evaluator: Evaluator) -> FactsClass:
    """What the agreements engine at the basis's sequence tells apart in the flag's events.

    The engine decides one event for one partnership from the interval of the book the time
    falls in, the event's agency, type, council and age band (the ages its age scopes treat
    alike), the partnership, the purpose (always the same here) and the answers of the
    consent view, and remembers its decisions per those (:meth:`hub.dsa.Evaluator.decide`).
    With the empty consent view every answer is "none", so two flags with the same class
    get the same decisions at the same interval and partnership. Whether the rule still
    holds on the events permitted is a question about the flag itself, answered per flag.
    """
    return basis.sequence, tuple(
        (f.agency_id, f.event_type, f.council, evaluator.age_band(f.age)) for f in basis.facts
    )


def _view(consent: ConsentLedger) -> ConsentView:
    """The consent view the engine is asked with (as :meth:`Rederiver.rederive` asks)."""
    return consent if consent.records else NO_CONSENT


class Lane:
    """Expected bytes for ledger entries, re-derived by a :class:`Rederiver` (see module doc)."""

    def __init__(self, rederiver: Rederiver, forms: Forms) -> None:
        self._rederiver = rederiver
        self._forms = forms
        self._places: dict[tuple[int, int], _Place] = {}
        self._outcomes: dict[VerdictKey, tuple[Decision, ...]] = {}
        self._verdicts: dict[tuple[int, int], tuple[object, Verdict]] = {}
        self._classes: dict[FactsClass, int] = {}
        """Every facts class met, numbered (few: a handful per agency and rule)."""
        self._flag_classes: dict[tuple[int, int], tuple[object, int]] = {}
        self._parts: dict[tuple[int, int], tuple[object, bytes, bytes]] = {}
        self.hits = 0
        """Entries whose bytes were the expected ones (counted by the replayer)."""
        self._breaks: dict[int, list[datetime]] = {}

    def expect(self, question: Question) -> Expected | None:
        """The entry's expected bytes; None when it cannot be re-derived (the full path
        then says why)."""
        position = question.position
        if position is None:
            return None
        try:
            basis = self._rederiver.basis(question)
        except UnreplayableError:
            return None
        place = self._place(position, basis)
        pid = question.recipient
        verdict = self.verdict(basis, place, pid)
        held = self._rederiver.held
        own, alert_id, change = held.permit(basis, pid) if verdict.permit else held.deny(basis, pid)
        decision_id = decision_id_of(basis.inputs, pid, place.iso, place.where)
        value = b"".join(
            (
                self._head(basis, place, pid, verdict, decision_id),
                self._tail(question, basis, verdict, (own, alert_id)),
            )
        )
        outcome = "permit" if verdict.permit else "deny"
        retraction = not verdict.permit and alert_id is not None
        return Expected(value, change, outcome, retraction, verdict.outcomes, basis.agencies)

    def verdict(self, basis: Basis, place: _Place, pid: str) -> Verdict:
        """The engine's decisions for the entry: remembered per (facts class, interval,
        partnership) when the subject has no consent record, and whether the rule holds on
        those permitted per (flag, decisions)."""
        if basis.consent.records:
            return decide(self._rederiver, basis, place.at, pid)
        key = (self._class_of(basis), place.slot, pid)
        outcomes = self._outcomes.get(key)
        if outcomes is None:
            if len(self._outcomes) >= _MEMO_MAX:
                self._outcomes.clear()
            outcomes = decide(self._rederiver, basis, place.at, pid).outcomes
            self._outcomes[key] = outcomes
        flagged = basis.flagged
        known = self._verdicts.get((id(flagged), id(outcomes)))
        if known is None or known[0] is not flagged or known[1].outcomes is not outcomes:
            if len(self._verdicts) >= _MEMO_MAX:
                self._verdicts.clear()
            known = (flagged, settle(self._rederiver, basis, outcomes))
            self._verdicts[id(flagged), id(outcomes)] = known
        return known[1]

    def _class_of(self, basis: Basis) -> int:
        """The flag's facts class at the basis's sequence, as a small number."""
        key = (id(basis.flagged), basis.sequence)
        known = self._flag_classes.get(key)
        if known is None or known[0] is not basis.flagged:
            if len(self._flag_classes) >= _MEMO_MAX:
                self._flag_classes.clear()
            found = facts_class(basis, self._rederiver.evaluator(basis.sequence))
            number = self._classes.setdefault(found, len(self._classes))
            known = self._flag_classes[key] = (basis.flagged, number)
        return known[1]

    def _place(self, position: Position, basis: Basis) -> _Place:
        key = (position.partition, position.offset)
        place = self._places.get(key)
        if place is None:
            if len(self._places) >= _MEMO_MAX:
                self._places.clear()
            at = basis.at
            place = _Place(
                at=at,
                text=b'"' + time_text(at).encode(),
                iso=at.isoformat(),
                sequence=basis.sequence,
                slot=self.slot(basis.sequence, at),
                where=f"{position.partition}:{position.offset}",
            )
            self._places[key] = place
        return place

    def slot(self, sequence: int, at: datetime) -> int:
        """The interval of the book at ``sequence`` that ``at`` falls in (the engine decides
        alike within one: its breakpoints are every instant an agreement may start or end)."""
        found = self._breaks.get(sequence)
        if found is None:
            book = self._rederiver.evaluator(sequence).book
            found = self._breaks[sequence] = list(book.breakpoints())
        return bisect_right(found, at)

    def _head(
        self, basis: Basis, place: _Place, pid: str, verdict: Verdict, decision_id: str
    ) -> bytes:
        """The record's bytes up to the end of its decisions, as :meth:`Forms.json_bytes`
        writes them (the flag's own fields kept per flag and sequence)."""
        flag_part, events_part = self._flag_parts(basis)
        decisions = self._forms.decisions_bytes(verdict.outcomes, basis.events, place.at)
        return b"".join(
            (
                b'{"decision_id":"',
                decision_id.encode(),
                b'","decided_at":',
                place.text,
                b'","recipient":',
                orjson.dumps(pid),
                flag_part,
                b'"permit"' if verdict.permit else b'"deny"',
                events_part,
                b",".join(decisions),
            )
        )

    def _flag_parts(self, basis: Basis) -> tuple[bytes, bytes]:
        """The flag's fields between the recipient and the outcome, and from the events to
        the opening of the decisions."""
        key = (id(basis.flagged), basis.sequence)
        known = self._parts.get(key)
        if known is None or known[0] is not basis.flagged:
            if len(self._parts) >= _MEMO_MAX:
                self._parts.clear()
            known = (basis.flagged, *_flag_parts(basis))
            self._parts[key] = known
        return known[1], known[2]

    def _tail(
        self,
        question: Question,
        basis: Basis,
        verdict: Verdict,
        ids: tuple[str | None, str | None],
    ) -> bytes:
        """The record's bytes after its decisions: alert id, position, consents, severity,
        the partnership's flag id and the consent read."""
        consents = (
            consents_consulted(
                basis.consent, basis.token, basis.at, basis.members, verdict.outcomes
            )
            if verdict.consulting
            else ()
        )
        read = (
            None
            if question.watermark is None and not basis.consent.ends
            else consent_read_of(basis.consent, question.watermark)
        )
        own, alert_id = ids
        return _tail_bytes((alert_id, basis.position), consents, basis.severity, own, read)


def decide(rederiver: Rederiver, basis: Basis, at: datetime, pid: str) -> Verdict:
    """The verdict, unremembered: as :meth:`Rederiver.rederive` decides."""
    evaluator = rederiver.evaluator(basis.sequence)
    view = _view(basis.consent)
    outcomes = tuple([evaluator.outcome(f, pid, at, view) for f in basis.facts])
    return settle(rederiver, basis, outcomes)


def settle(rederiver: Rederiver, basis: Basis, outcomes: tuple[Decision, ...]) -> Verdict:
    """Whether the rule holds on the events permitted, and whether consent was consulted."""
    visible = [c for c, d in zip(basis.members, outcomes, strict=True) if d.permitted]
    permit = bool(visible) and still_holds(basis.rule, visible)
    return Verdict(outcomes, permit, rederiver.consulting(outcomes))


def _flag_parts(basis: Basis) -> tuple[bytes, bytes]:
    flag_part = b"".join(
        (
            b',"flag_id":',
            orjson.dumps(basis.flag[0]),
            b',"rule_id":',
            orjson.dumps(basis.rule.id),
            b',"rule_version":',
            orjson.dumps(basis.rule.version),
            b',"policy_sequence":',
            orjson.dumps(basis.sequence),
            b',"outcome":',
        )
    )
    events_part = b"".join(
        (
            b',"events":',
            orjson.dumps(basis.events),
            b',"inputs_digest":',
            orjson.dumps(basis.inputs),
            b',"decisions":[',
        )
    )
    return flag_part, events_part


def _tail_bytes(
    alerted: tuple[str | None, Position | None],
    consents: tuple[object, ...],
    severity: str | None,
    own: str | None,
    read: ConsentRead | None,
) -> bytes:
    """The bytes :meth:`Forms.json_bytes` writes after the decisions' closing bracket
    (``alerted``: the alert id and the position)."""
    alert_id, position = alerted
    where = (
        b"null"
        if position is None
        else b'{"partition":%d,"offset":%d}' % (position.partition, position.offset)
    )
    listed = (
        b"[" + b",".join([c.__pydantic_serializer__.to_json(c) for c in consents]) + b"]"  # type: ignore[attr-defined]
        if consents
        else b"[]"
    )
    return b"".join(
        (
            b'],"alert_id":',
            orjson.dumps(alert_id),
            b',"position":',
            where,
            b',"consents":',
            listed,
            b',"severity":',
            orjson.dumps(severity),
            b',"recipient_flag_id":',
            orjson.dumps(own),
            b',"consent_read":',
            b"null" if read is None else read.__pydantic_serializer__.to_json(read),
            b"}",
        )
    )
