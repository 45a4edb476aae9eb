"""A re-derived decision as plain values, and its JSON form to compare with the ledger's.

Replay derives every field of a :class:`DecisionRecord` but builds the model only when it
needs one (a record that differs, an explanation, the watermark check): :class:`Answer`
holds the fields, and :meth:`Answer.json_form` is what ``model_dump_json`` would write,
parsed, so that an entry whose parsed JSON equals it is known to be the same record without
validating it. The per-event decisions are mostly the agreements engine's remembered ones
restamped with an event and a time: their JSON form is kept per remembered decision.

:meth:`Forms.json_bytes` is the record as ``model_dump_json`` writes it, built from those
kept forms (each remembered decision's bytes around its event id and time): an entry whose
bytes are these bytes is the re-derived record, read without parsing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import pairwise
from typing import Any

import orjson
from pydantic import TypeAdapter

from hub.dispatch import ConsentConsulted, ConsentRead, DecisionRecord, Position
from hub.dsa import Decision

_TIME = TypeAdapter(datetime)
_FORMS_MAX = 16_384
_NO_EVENT = "\x01"
"""Stand-ins for a decision's event id and time while its bytes are cut around them."""
STAND_IN_AT = datetime(1111, 1, 1, 1, 1, 1, 111_111, tzinfo=UTC)
"""The stand-in time (the fast lane cuts a verdict's bytes around it too)."""


@dataclass(slots=True)
class Answer:
    """The fields of a re-derived :class:`DecisionRecord`, not yet a model.

    ``outcomes`` are the agreements engine's decisions for the entry's events in order,
    each possibly remembered with another event's id and time (:meth:`Evaluator.outcome`):
    :attr:`decisions` are them restamped. Not frozen: built once per entry, never changed.
    """

    decision_id: str
    decided_at: datetime
    recipient: str
    flag_id: str
    rule_id: str
    rule_version: int
    policy_sequence: int
    outcome: str
    events: tuple[str, ...]
    inputs_digest: str
    outcomes: tuple[Decision, ...]
    alert_id: str | None
    position: Position | None
    consents: tuple[ConsentConsulted, ...]
    severity: str | None
    recipient_flag_id: str | None
    consent_read: ConsentRead | None

    @property
    def decisions(self) -> tuple[Decision, ...]:
        """The decisions for the entry's events, each with its event id and time."""
        at = self.decided_at
        return tuple(
            d if d.event_id == e and d.at is at else d.restamped(e, at)
            for d, e in zip(self.outcomes, self.events, strict=True)
        )

    def record(self) -> DecisionRecord:
        """The record, validated as the live path builds it."""
        return DecisionRecord(**{name: getattr(self, name) for name in DecisionRecord.model_fields})


class Forms:
    """JSON forms of answers, with the per-event decisions' forms remembered."""

    def __init__(self) -> None:
        self._decisions: dict[int, tuple[object, tuple[Any, ...], dict[str, Any]]] = {}
        self._pieces: dict[int, tuple[object, tuple[Any, ...], _Pieces | None]] = {}
        self._known: dict[int, tuple[Decision, _Pieces | None]] = {}
        """Each decision's pieces by its identity (held, so the id stays its own; a frozen
        model, so the pieces stay true)."""
        self._cut: dict[tuple[int, str], tuple[Decision, bytes, bytes]] = {}
        """Per decision (held) and event id: its bytes up to its time, and after its time
        with the comma that follows it in a list (:meth:`decision_chunks`)."""

    def json_bytes(self, answer: Answer) -> bytes:
        """What ``answer.record().model_dump_json()`` writes, as bytes."""
        position = answer.position
        read = answer.consent_read
        consents = answer.consents
        at = time_text(answer.decided_at)
        return orjson.dumps(
            {
                "decision_id": answer.decision_id,
                "decided_at": at,
                "recipient": answer.recipient,
                "flag_id": answer.flag_id,
                "rule_id": answer.rule_id,
                "rule_version": answer.rule_version,
                "policy_sequence": answer.policy_sequence,
                "outcome": answer.outcome,
                "events": answer.events,
                "inputs_digest": answer.inputs_digest,
                "decisions": orjson.Fragment(
                    b"["
                    + b",".join(
                        self.decisions_bytes(answer.outcomes, answer.events, answer.decided_at)
                    )
                    + b"]"
                ),
                "alert_id": answer.alert_id,
                "position": None
                if position is None
                else {"partition": position.partition, "offset": position.offset},
                "consents": orjson.Fragment(
                    b"["
                    + b",".join([c.__pydantic_serializer__.to_json(c) for c in consents])
                    + b"]"
                )
                if consents
                else (),
                "severity": answer.severity,
                "recipient_flag_id": answer.recipient_flag_id,
                "consent_read": None
                if read is None
                else orjson.Fragment(read.__pydantic_serializer__.to_json(read)),
            }
        )

    def decisions_bytes(
        self, outcomes: tuple[Decision, ...], events: tuple[str, ...], decided_at: datetime
    ) -> list[bytes]:
        """Each decision's JSON bytes: a remembered one's cut and joined around the entry's
        event id and time (remembered as :meth:`_decision` remembers forms)."""
        at = b'"' + time_text(decided_at).encode()
        written = []
        for decision, event_id in zip(outcomes, events, strict=True):
            # the evaluator hands out its remembered decisions: most are known by identity
            pieces = self._pieces_for(decision)
            if pieces is None:
                whole = decision.restamped(event_id, decided_at)
                written.append(whole.__pydantic_serializer__.to_json(whole))
            else:
                head, middle, tail = pieces
                written.append(b"".join((head, orjson.dumps(event_id), middle, at, tail)))
        return written

    def decision_chunks(
        self, outcomes: tuple[Decision, ...], events: tuple[str, ...]
    ) -> list[bytes] | None:
        """The decisions' bytes for these events (:meth:`decisions_bytes`, joined with
        commas) cut where each decision's time goes: ``at.join(chunks)`` is those bytes at
        time ``at`` (as bytes, with its opening quote). None when a decision is written whole
        (:meth:`_pieces_of`) or its bytes around the time hold the stand-in time
        (:data:`STAND_IN`: an event id holding it), so that the stand-in is found in the
        bytes at the cuts only. Each decision's bytes up to its time are kept per decision
        (held) and event id: a subject's flags share events, and their decisions are the
        engine's remembered ones."""
        if not outcomes:
            return None
        cut = self._cut
        # an entry holds its decision: while it is kept, no other object has that identity
        found = [cut.get((id(d), e)) for d, e in zip(outcomes, events, strict=True)]
        if None in found:
            for n, (decision, event_id) in enumerate(zip(outcomes, events, strict=True)):
                if found[n] is None:
                    made = self._cut_at(decision, event_id)
                    if made is None:
                        return None
                    found[n] = made
        chunks = [found[0][1]]  # type: ignore[index]  # none is None now
        chunks += [a[2] + b[1] for a, b in pairwise(found)]  # type: ignore[index]
        chunks.append(found[-1][2][:-1])  # type: ignore[index]
        return chunks

    def _cut_at(self, decision: Decision, event_id: str) -> tuple[Decision, bytes, bytes] | None:
        """A decision's bytes for an event up to its time, and after its time with a comma
        (kept per decision and event id: :meth:`decision_chunks`); None when they cannot be
        cut so."""
        pieces = self._pieces_for(decision)
        if pieces is None:
            return None
        head, middle, after = pieces
        piece = b"".join((head, orjson.dumps(event_id), middle))
        if STAND_IN in piece:  # (the stand-in has no comma: no cut spans one)
            return None
        cut = self._cut
        if len(cut) >= _FORMS_MAX:
            cut.clear()
        found = cut[id(decision), event_id] = (decision, piece, after + b",")
        return found

    def pieces(self, decision: Decision) -> Pieces | None:
        """A decision's bytes before its event id, between it and its time, and after its
        time (the time's bytes open with its quote, as :data:`STAND_IN`'s); None when it is
        written whole. Kept per decision (held)."""
        return self._pieces_for(decision)

    def _pieces_for(self, decision: Decision) -> _Pieces | None:
        """A decision's pieces (:meth:`_pieces_of`), found by its identity first."""
        known = self._known
        found = known.get(id(decision))
        if found is None or found[0] is not decision:
            if len(known) >= _FORMS_MAX:
                known.clear()
            found = known[id(decision)] = (decision, self._pieces_of(decision))
        return found[1]

    def _pieces_of(self, decision: Decision) -> _Pieces | None:
        """A remembered decision's pieces, by the identity of its clauses (see
        :meth:`_decision`); None for one without clauses: it is written whole."""
        clauses = decision.clauses
        if not clauses:
            return None
        known = self._pieces.get(id(clauses))
        told = (decision.outcome, decision.recipient, decision.agreement_digest)
        if known is None or known[0] is not clauses or known[1] != told:
            if len(self._pieces) >= _FORMS_MAX:
                self._pieces.clear()
            known = (clauses, told, _pieces(decision))
            self._pieces[id(clauses)] = known
        return known[2]

    def json_form(self, answer: Answer) -> dict[str, Any]:
        """What ``answer.record().model_dump_json()`` holds, as parsed JSON."""
        position = answer.position
        read = answer.consent_read
        return {
            "decision_id": answer.decision_id,
            "decided_at": time_text(answer.decided_at),
            "recipient": answer.recipient,
            "flag_id": answer.flag_id,
            "rule_id": answer.rule_id,
            "rule_version": answer.rule_version,
            "policy_sequence": answer.policy_sequence,
            "outcome": answer.outcome,
            "events": list(answer.events),
            "inputs_digest": answer.inputs_digest,
            "decisions": [self._decision(d) for d in answer.decisions],
            "alert_id": answer.alert_id,
            "position": None
            if position is None
            else {"partition": position.partition, "offset": position.offset},
            "consents": [c.model_dump(mode="json") for c in answer.consents],
            "severity": answer.severity,
            "recipient_flag_id": answer.recipient_flag_id,
            "consent_read": None if read is None else read.model_dump(mode="json"),
        }

    def _decision(self, decision: Decision) -> dict[str, Any]:
        """A decision's form: a restamped one shares its clauses with the one remembered.

        Remembered by the identity of its clauses (held here, so the id stays theirs), and
        checked on the fields that tell two decisions with the same clauses apart.
        """
        clauses = decision.clauses
        if not clauses:
            return decision.model_dump(mode="json")
        known = self._decisions.get(id(clauses))
        told = (decision.outcome, decision.recipient, decision.agreement_digest)
        if known is None or known[0] is not clauses or known[1] != told:
            if len(self._decisions) >= _FORMS_MAX:
                self._decisions.clear()
            form = decision.model_dump(mode="json", exclude={"event_id", "at"})
            known = (clauses, told, form)
            self._decisions[id(clauses)] = known
        return {**known[2], "event_id": decision.event_id, "at": time_text(decision.at)}


_Pieces = tuple[bytes, bytes, bytes]
"""A decision's JSON bytes before its event id, between it and its time, and after it."""
Pieces = _Pieces


def _pieces(decision: Decision) -> _Pieces | None:
    """A decision's bytes before its event id, between it and its time, and after the time;
    None when the stand-ins are not found once each (the bytes are then written whole)."""
    stand_in = decision.restamped(_NO_EVENT, STAND_IN_AT)
    written = stand_in.__pydantic_serializer__.to_json(stand_in)
    event, at = orjson.dumps(_NO_EVENT), STAND_IN
    if written.count(event) != 1 or written.count(at) != 1:
        return None
    head, rest = written.split(event)
    middle, tail = rest.split(at)
    return head, middle, tail


@lru_cache(maxsize=4096)
def time_text(at: datetime) -> str:
    """A time as pydantic writes it in JSON."""
    text = _TIME.dump_python(at, mode="json")
    assert isinstance(text, str)  # noqa: S101  # pydantic writes a datetime as a string
    return text


STAND_IN = b'"' + time_text(STAND_IN_AT).encode()
"""The stand-in time as a record writes it (with its opening quote), where a decision's
pieces are cut (:func:`_pieces`): it cannot overlap itself (its quote opens it only)."""
