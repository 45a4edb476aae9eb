"""A re-derived decision as plain values, and its JSON form to compare with the ledger's.

Replay derives every field of a :class:`DecisionRecord` but builds the model only when it
needs one (a record that differs, an explanation, the watermark check): :class:`Answer`
holds the fields, and :meth:`Answer.json_form` is what ``model_dump_json`` would write,
parsed, so that an entry whose parsed JSON equals it is known to be the same record without
validating it. The per-event decisions are mostly the agreements engine's remembered ones
restamped with an event and a time: their JSON form is kept per remembered decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter

from hub.dispatch import ConsentConsulted, ConsentRead, DecisionRecord, Position
from hub.dsa import Decision

_TIME = TypeAdapter(datetime)
_FORMS_MAX = 16_384


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


@lru_cache(maxsize=4096)
def time_text(at: datetime) -> str:
    """A time as pydantic writes it in JSON."""
    text = _TIME.dump_python(at, mode="json")
    assert isinstance(text, str)  # noqa: S101  # pydantic writes a datetime as a string
    return text
