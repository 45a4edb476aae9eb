"""Dispatch: from a subject's flags to what each partnership may be told, and the record of why.

For every flag of a subject and every partnership, the agreements decide each contributing
event. The rule is re-checked on the events that partnership may see, so a partnership that
may see too few receives no flag. What it may see becomes an alert:
- minimised to the allowed fields;
- about its own pseudonym of the subject;
- encrypted to it, and queued for numbering (:mod:`hub.sequencer`).

A flag already sent is sent again only when what that partnership sees changes (``updated``).
It is ``retracted`` when it stops holding for the partnership (consent withdrawn, agreement
ended) and ``expired`` when its window closes. Every decision, permit and deny, becomes a
:class:`DecisionRecord` for the audit ledger. The record holds ids and digests, never values:
the accepted-topic position it was taken at, the events (by id), the agreement versions, and
the consent records consulted (by id, with their state), so that ``hub audit replay`` can take
the decision again from those inputs alone (:mod:`hub.audit.replay`). Everything here is
deterministic: the same state, events, agreements and time give the same alert ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hub.alerts import AlertBody, AlertKind, ContributingEvent, RuleRef, encrypt_alert
from hub.alerts.body import Scalar
from hub.consent import ConsentLedger
from hub.crypto import HmacKey, HpkePublicKey
from hub.dsa import NO_CONSENT, ConsentView, Decision, Evaluator, EventFacts
from hub.flags import Contribution, FlagState, Status, SubjectWindow, evaluate, still_holds
from hub.pseudonym import parse_token, pseudonym
from hub.rules import FieldValue, RuleSet
from hub.sequencer import Pending


@dataclass(frozen=True, slots=True)
class Recipient:
    """A partnership's public encryption key and its pseudonym key."""

    partnership_id: str
    hpke: HpkePublicKey
    pseudonym_key: HmacKey = field(repr=False)


class SubjectState(BaseModel):
    """One subject's window and, per flag, the alert revision each partnership last got.

    ``closed`` counts, per flag and partnership, the retractions and expiries sent: a flag
    raised again after a retraction gets new alert ids, never the ids of its first life.
    """

    model_config = ConfigDict(frozen=True)

    window: SubjectWindow = Field(default_factory=SubjectWindow)
    sent: Mapping[str, Mapping[str, str]] = Field(default_factory=dict)
    consent: ConsentLedger = Field(default_factory=ConsentLedger)
    closed: Mapping[str, Mapping[str, int]] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Compact JSON for the state table."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes | None) -> SubjectState:
        """The state stored in the table (an empty one for a new subject)."""
        return cls() if not data else cls.model_validate_json(data)


class Position(BaseModel):
    """Where in the accepted topic a decision was taken: the record being processed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partition: int
    offset: int


class ConsentConsulted(BaseModel):
    """A consent record the agreements consulted for a decision: its id and state, no token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_id: str
    provider: str
    purpose: str
    status: str
    given_event: str
    ended_event: str | None = None


class DecisionRecord(BaseModel):
    """One disclosure decision for the audit ledger: ids, versions, names and digests only.

    ``position`` (absent in records written before replay existed) is the accepted-topic
    record the decision was taken at; ``consents`` lists the subject's consent records from
    each provider whose events needed consent, with their state at ``decided_at``: a denial
    after a withdrawal names the withdrawal's event.
    """

    model_config = ConfigDict(frozen=True)

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
    alert_id: str | None = None
    position: Position | None = None
    consents: tuple[ConsentConsulted, ...] = ()
    severity: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """What one dispatch produced: the new state, alerts to number, decisions to record."""

    state: SubjectState
    pending: tuple[Pending, ...]
    decisions: tuple[DecisionRecord, ...]


@dataclass(frozen=True, slots=True)
class Moment:
    """When and under what a dispatch decides: time, agreements, their sequence, consent.

    ``position`` is the accepted-topic record being processed, recorded with each decision.
    """

    at: datetime
    policy: Evaluator
    policy_sequence: int
    consent: ConsentView = NO_CONSENT
    position: Position | None = None


@dataclass(frozen=True, slots=True)
class Dispatcher:
    """The fixed inputs of dispatch: rules and recipients."""

    rules: RuleSet
    recipients: tuple[Recipient, ...]

    def dispatch(
        self, token: str, state: SubjectState, moment: Moment, *, resend: bool = False
    ) -> Step:
        """Re-evaluate a subject at ``moment`` and say what changes for whom.

        ``resend`` re-emits every current alert even when the state says it was sent: after a
        redelivery, the first attempt's outbox records may never have left. The sequencer drops
        the ones that did (same alert ids).
        """
        # Every field given: a default ConsentLedger would be built (deep-copying its
        # defaults) only to be replaced.
        run = _Round(
            self,
            token,
            state.window,
            moment,
            {k: dict(v) for k, v in state.sent.items()},
            resend=resend,
            consent=state.consent,
            closed={k: dict(v) for k, v in state.closed.items()},
        )
        evaluated = {f.flag_id: f for f in evaluate(self.rules, token, state.window, moment.at)}
        active = {k: f for k, f in evaluated.items() if f.status is Status.ACTIVE}
        for flag in active.values():
            found = run.members(flag)  # the same for every partnership
            for recipient in self.recipients:
                run.offer(flag, recipient, found)
        for flag_id in sorted(set(run.sent) - set(active)):
            kind = AlertKind.EXPIRED if flag_id in evaluated else AlertKind.RETRACTED
            for partnership_id, previous in sorted(run.sent.pop(flag_id).items()):
                run.close(flag_id, partnership_id, kind, previous)
        sent = {k: v for k, v in run.sent.items() if v}
        # A flag no longer evaluated has left the window for good: its count can go.
        closed = {k: v for k, v in run.closed.items() if k in evaluated}
        new_state = SubjectState(
            window=state.window, sent=sent, consent=state.consent, closed=closed
        )
        return Step(new_state, tuple(run.pending), tuple(run.records))


@dataclass
class _Round:
    """One dispatch of one subject: its inputs and what it has produced so far."""

    dispatcher: Dispatcher
    token: str
    window: SubjectWindow
    moment: Moment
    sent: dict[str, dict[str, str]]
    pending: list[Pending] = field(default_factory=list)
    records: list[DecisionRecord] = field(default_factory=list)
    resend: bool = False
    consent: ConsentLedger = field(default_factory=ConsentLedger)
    closed: dict[str, dict[str, int]] = field(default_factory=dict)

    def members(self, flag: FlagState) -> tuple[list[Contribution], list[EventFacts]]:
        """The flag's contributions, and their facts as the agreements see them."""
        ids = flag.event_ids
        members = [c for c in self.window.contributions if c.event_id in ids]
        return members, [event_facts(c, self.token) for c in members]

    def offer(
        self,
        flag: FlagState,
        recipient: Recipient,
        found: tuple[list[Contribution], list[EventFacts]] | None = None,
    ) -> None:
        """Decide the flag's events for one partnership; alert if what it sees changed.

        ``found`` is :meth:`members` of the flag, when the caller has it already.
        """
        pid = recipient.partnership_id
        members, facts = found or self.members(flag)
        at, consent, policy = self.moment.at, self.moment.consent, self.moment.policy
        # Outcomes first (cheap); the decisions themselves only when they are sent or recorded.
        outcomes = [policy.outcome(f, pid, at, consent) for f in facts]
        visible = [c for c, d in zip(members, outcomes, strict=True) if d.permitted]
        rule = self.dispatcher.rules.get(flag.rule_id)
        holds = bool(visible) and still_holds(rule, visible)
        previous = self.sent.get(flag.flag_id, {}).get(pid)
        reopened = self.closed.get(flag.flag_id, {}).get(pid, 0)
        revision = alert_revision(flag.revision, pid, (c.event_id for c in visible), reopened)
        alert_id: str | None = None
        resent = holds and self.resend and previous is not None
        changed = holds and (previous is None or _revision_of(previous) != revision)
        if not (changed or resent or previous is None or not holds):
            return  # nothing to send and nothing to record
        decisions = [policy.decide(f, pid, at, consent) for f in facts]
        if changed:
            kind = AlertKind.RAISED if previous is None else AlertKind.UPDATED
            alert_id = self._alert(
                kind, flag, recipient, seen=(visible, decisions), revision=revision
            )
            self.sent.setdefault(flag.flag_id, {})[pid] = f"{kind.value}|{revision}"
        elif resent and previous is not None:
            kind = AlertKind(_kind_of(previous))
            self._alert(kind, flag, recipient, seen=(visible, decisions), revision=revision)
        elif not holds and previous is not None:
            self.sent[flag.flag_id].pop(pid)
            alert_id = self.close(flag.flag_id, pid, AlertKind.RETRACTED, previous, flag)
        if alert_id is not None or previous is None:
            outcome = "permit" if holds else "deny"
            self._record(
                flag, pid, members=members, decisions=decisions, outcome=outcome, alert_id=alert_id
            )

    def close(
        self,
        flag_id: str,
        partnership_id: str,
        kind: AlertKind,
        previous: str,
        flag: FlagState | None = None,
    ) -> str:
        """Tell a partnership that a flag it holds was retracted or has expired."""
        counts = self.closed.setdefault(flag_id, {})
        counts[partnership_id] = counts.get(partnership_id, 0) + 1
        recipient = next(
            r for r in self.dispatcher.recipients if r.partnership_id == partnership_id
        )
        return self._bare(kind, flag_id, recipient, flag, _revision_of(previous))

    def _alert(
        self,
        kind: AlertKind,
        flag: FlagState,
        recipient: Recipient,
        *,
        seen: tuple[Sequence[Contribution], Sequence[Decision]],
        revision: str,
    ) -> str:
        visible, decisions = seen
        allowed = {d.event_id: set(d.fields) for d in decisions if d.permitted}
        rule = self.dispatcher.rules.get(flag.rule_id)
        events = tuple(
            ContributingEvent(
                type=c.event_type,
                agency=c.agency_id,
                date=c.occurred_at.date(),
                fields={n: _scalar(v) for n, v in c.fields.items() if n in allowed[c.event_id]},
            )
            for c in sorted(visible, key=lambda c: c.key)
        )
        body = AlertBody(
            alert_id=alert_id_of(flag.flag_id, revision),
            kind=kind,
            flag_id=flag.flag_id,
            rule=RuleRef(rule.id, rule.version, rule.title, " ".join(rule.explanation.split())),
            severity=str(flag.severity),
            subject=self._pseudonym(recipient),
            window_start=flag.window_start.date(),
            window_end=flag.window_end.date(),
            events=events,
            ask=tuple(sorted({c.agency_id for c in visible})),
            agreements=tuple(
                sorted(
                    {f"{d.agreement_id}@{d.agreement_version}" for d in decisions if d.permitted}
                )
            ),
            decided_at=self.moment.at,
        )
        return self._queue(body, recipient)

    def _bare(
        self,
        kind: AlertKind,
        flag_id: str,
        recipient: Recipient,
        flag: FlagState | None,
        last_revision: str,
    ) -> str:
        """A retraction or expiry of the revision last sent: names the flag, carries no events."""
        day = self.moment.at.date()
        body = AlertBody(
            alert_id=closed_alert_id(flag_id, kind, last_revision),
            kind=kind,
            flag_id=flag_id,
            rule=RuleRef(flag.rule_id, flag.rule_version, "", "")
            if flag
            else RuleRef("", 0, "", ""),
            severity=str(flag.severity) if flag else "none",
            subject=self._pseudonym(recipient),
            window_start=flag.window_start.date() if flag else day,
            window_end=flag.window_end.date() if flag else day,
            events=(),
            ask=(),
            agreements=(),
            decided_at=self.moment.at,
        )
        return self._queue(body, recipient)

    def _queue(self, body: AlertBody, recipient: Recipient) -> str:
        unnumbered = encrypt_alert(body, recipient.partnership_id, recipient.hpke)
        self.pending.append(
            Pending(recipient.partnership_id, body.alert_id, unnumbered.value, unnumbered.headers)
        )
        return body.alert_id

    def _pseudonym(self, recipient: Recipient) -> str:
        return pseudonym(parse_token(self.token), recipient.pseudonym_key).text

    def _record(
        self,
        flag: FlagState,
        partnership_id: str,
        *,
        members: Sequence[Contribution],
        decisions: Sequence[Decision],
        outcome: str,
        alert_id: str | None,
    ) -> None:
        events = tuple(c.event_id for c in members)
        ids = decision_ids((flag.flag_id, flag.revision), events, partnership_id, self.moment)
        self.records.append(
            DecisionRecord(
                decision_id=ids[0],
                decided_at=self.moment.at,
                recipient=partnership_id,
                flag_id=flag.flag_id,
                rule_id=flag.rule_id,
                rule_version=flag.rule_version,
                policy_sequence=self.moment.policy_sequence,
                outcome=outcome,
                events=events,
                inputs_digest=ids[1],
                decisions=tuple(decisions),
                alert_id=alert_id,
                position=self.moment.position,
                consents=consents_consulted(
                    self.consent, self.token, self.moment.at, members, decisions
                ),
                severity=flag.severity,
            )
        )


def event_facts(c: Contribution, token: str) -> EventFacts:
    """What the agreements engine decides on for one contributing event of a subject."""
    return EventFacts(
        event_id=c.event_id,
        agency_id=c.agency_id,
        event_type=c.event_type,
        occurred_at=c.occurred_at,
        council=c.council,
        age=c.age,
        subject_token=token,
        lsoa=c.lsoa,
        fields=c.fields,
    )


def decision_ids(
    flag: tuple[str, str], events: tuple[str, ...], partnership_id: str, moment: Moment
) -> tuple[str, str]:
    """The decision id and the inputs digest of one flag's decision for one partnership.

    ``flag`` is the flag's (id, revision).

    Both derive from the decision's inputs only (flag revision, events, agreement sequence,
    time, stream position), so a redelivery reproduces them and a replay can recompute them.
    """
    inputs = _digest("inputs", *flag, *events, str(moment.policy_sequence))
    where = (
        ()
        if moment.position is None
        else (f"{moment.position.partition}:{moment.position.offset}",)
    )
    decision_id = _digest("decision", inputs, partnership_id, moment.at.isoformat(), *where)
    return decision_id, inputs


def consents_consulted(
    ledger: ConsentLedger,
    token: str,
    at: datetime,
    members: Sequence[Contribution],
    decisions: Sequence[Decision],
) -> tuple[ConsentConsulted, ...]:
    """The subject's consent records from each provider whose events needed consent, at ``at``."""
    providers = {
        c.agency_id
        for c, d in zip(members, decisions, strict=True)
        if any(clause.clause == "consent" for clause in d.clauses)
    }
    if not providers:
        return ()
    found = []
    for record in ledger.for_subject(token):
        status = record.status_at(at)
        if record.provider not in providers or status is None:
            continue
        ended = (
            record.end_event_id if record.ended_at is not None and at >= record.ended_at else None
        )
        found.append(
            ConsentConsulted(
                consent_id=record.consent_id,
                provider=record.provider,
                purpose=str(record.purpose),
                status=str(status),
                given_event=record.event_id,
                ended_event=ended,
            )
        )
    return tuple(found)


def alert_revision(
    flag_revision: str, partnership_id: str, visible: Iterable[str], reopened: int = 0
) -> str:
    """The revision of the alert a partnership gets: the flag's, and the events it may see.

    ``reopened`` is how many times the flag was already closed for this partnership: a flag
    raised again after a retraction is a new alert, not a repeat of its first one.
    """
    parts = (flag_revision, partnership_id, *sorted(visible))
    if reopened:
        parts = (*parts, f"reopened:{reopened}")
    return _digest("alert-revision", *parts)


def alert_id_of(flag_id: str, revision: str) -> str:
    """The id of a raised or updated alert."""
    return _digest("alert", flag_id, revision)


def closed_alert_id(flag_id: str, kind: AlertKind, last_revision: str) -> str:
    """The id of a retraction or expiry of the revision last sent."""
    return _digest("alert-closed", flag_id, kind, last_revision)


def _revision_of(sent: str) -> str:
    """The alert revision recorded in a ``sent`` entry (``<kind>|<revision>``)."""
    return sent.rpartition("|")[2]


def _kind_of(sent: str) -> str:
    """The alert kind recorded in a ``sent`` entry."""
    return sent.partition("|")[0]


def _scalar(value: FieldValue) -> Scalar:
    """Array values become one comma-separated string for the alert body."""
    return ",".join(value) if isinstance(value, tuple) else value


def _digest(domain: str, *parts: str) -> str:
    text = "\x00".join(parts)
    return hashlib.sha256(f"vru-hub/{domain}/v1\x00{text}".encode()).hexdigest()[:32]
