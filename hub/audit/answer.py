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
from typing import Any

import orjson
from pydantic import TypeAdapter

from hub.dispatch import ConsentConsulted, ConsentRead, DecisionRecord, Position
from hub.dsa import Decision

_TIME = TypeAdapter(datetime)
_FORMS_MAX = 16_384
_NO_EVENT = "\x01"
"""Stand-ins for a decision's event id and time while its bytes are cut around them."""
_NO_TIME = datetime(1111, 1, 1, 1, 1, 1, 111_111, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Answer:
    """The fields of a re-derived :class:`DecisionRecord`, not yet a model."""

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
    decisions: tuple[Decision, ...]
    alert_id: str | None
    position: Position | None
    consents: tuple[ConsentConsulted, ...]
    severity: str | None
    recipient_flag_id: str | None
    consent_read: ConsentRead | None

    def record(self) -> DecisionRecord:
        """The record, validated as the live path builds it."""
        return DecisionRecord(**{name: getattr(self, name) for name in self.__slots__})


class Forms:
    """JSON forms of answers, with the per-event decisions' forms remembered."""

    def __init__(self) -> None:
        self._decisions: dict[int, tuple[object, tuple[Any, ...], dict[str, Any]]] = {}
        self._pieces: dict[int, tuple[object, tuple[Any, ...], tuple[bytes, bytes, bytes]]] = {}

    def json_bytes(self, answer: Answer) -> bytes:
        """What ``answer.record().model_dump_json()`` writes, as bytes."""
        position = answer.position
        read = answer.consent_read
        consents = answer.consents
        return orjson.dumps(
            {
                "decision_id": answer.decision_id,
                "decided_at": time_text(answer.decided_at),
                "recipient": answer.recipient,
                "flag_id": answer.flag_id,
                "rule_id": answer.rule_id,
                "rule_version": answer.rule_version,
                "policy_sequence": answer.policy_sequence,
                "outcome": answer.outcome,
                "events": answer.events,
                "inputs_digest": answer.inputs_digest,
                "decisions": orjson.Fragment(
                    b"[" + b",".join([self._decision_bytes(d) for d in answer.decisions]) + b"]"
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

    def _decision_bytes(self, decision: Decision) -> bytes:
        """A decision's JSON bytes: a restamped one's are its remembered one's, cut and joined
        around its event id and time (remembered as :meth:`_decision` remembers forms)."""
        clauses = decision.clauses
        known = self._pieces.get(id(clauses))
        told = (decision.outcome, decision.recipient, decision.agreement_digest)
        if known is None or known[0] is not clauses or known[1] != told:
            pieces = _pieces(decision)
            if pieces is None:
                return decision.__pydantic_serializer__.to_json(decision)
            if len(self._pieces) >= _FORMS_MAX:
                self._pieces.clear()
            known = (clauses, told, pieces)
            self._pieces[id(clauses)] = known
        head, middle, tail = known[2]
        at = time_text(decision.at)
        return b"".join((head, orjson.dumps(decision.event_id), middle, b'"', at.encode(), tail))

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


def _pieces(decision: Decision) -> tuple[bytes, bytes, bytes] | None:
    """A decision's bytes before its event id, between it and its time, and after the time;
    None when the stand-ins are not found once each (the bytes are then written whole)."""
    stand_in = decision.restamped(_NO_EVENT, _NO_TIME)
    written = stand_in.__pydantic_serializer__.to_json(stand_in)
    event, at = orjson.dumps(_NO_EVENT), b'"' + time_text(_NO_TIME).encode()
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
