"""One dispatch of one subject (:meth:`hub.dispatch.Dispatcher.dispatch`): the partnerships
decided one by one, each from its own view, and what that produces (alerts queued for
numbering, decision records for the ledger, the partnerships' flags and counts).

What is a function of the subject's window and the time alone (its flags, a hub flag's id and
inputs digest, whether what a partnership sees of a hub flag still holds) is found once per
dispatch and shared by the partnerships that see the same; see :mod:`hub.dispatch` for what
each partnership is told and when.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from hub.alerts import AlertBody, AlertKind, ContributingEvent, RuleRef, encrypt_alert
from hub.alerts.body import Scalar
from hub.decider import Decider
from hub.disclosure import (
    ConsentRead,
    Counted,
    DecisionRecord,
    Moment,
    Recipient,
    SubjectState,
    Trigger,
    alert_revision,
    anchor_key,
    consent_read_of,
    consents_consulted,
    decision_ids,
    hub_flag,
    inputs_digest,
    material,
)
from hub.dsa import Decision
from hub.dsa.decision import stamped
from hub.flags import Contribution, Episode, FlagState, Status, SubjectWindow, states, still_holds
from hub.models.built import built
from hub.pseudonym import Token, parse_token, pseudonym
from hub.remembered import remembered_flag, remembered_holds
from hub.rules import FieldValue, Rule
from hub.sequencer import Pending
from hub.view import Held, Sight, match, see

if TYPE_CHECKING:
    from hub.dispatch import Dispatcher

Episodes = list[tuple[Rule, Episode]]
"""A window's episodes, rule by rule (:func:`hub.flags.episodes_of`)."""


@dataclass
class Round:
    """One dispatch of one subject: its inputs and what it has produced so far."""

    dispatcher: Dispatcher
    token: str
    state: SubjectState
    moment: Moment
    resend: bool = False
    held: dict[str, dict[str, Held]] = field(default_factory=dict)
    closed: dict[str, dict[str, int]] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)
    records: list[DecisionRecord] = field(default_factory=list)
    counted: list[Counted] = field(default_factory=list)
    decider: Decider = field(init=False)
    triggered: dict[str, Contribution | None] = field(default_factory=dict)
    flags: dict[tuple[tuple[str, ...], tuple[tuple[str, datetime], ...]], list[FlagState]] = field(
        default_factory=dict
    )
    hub_flags: dict[tuple[str, tuple[str, ...]], tuple[str, str, str, str]] = field(
        default_factory=dict
    )
    consent_read: ConsentRead | None = None
    members: dict[int, tuple[frozenset[str], list[Contribution], tuple[str, ...]]] = field(
        default_factory=dict
    )
    owns: dict[str, Mapping[str, Decision]] = field(default_factory=dict)
    """Each partnership's own decisions on the window (:meth:`_own`)."""
    parsed: Token | None = None
    """The subject's token, parsed when an alert first names a pseudonym."""
    told: dict[tuple[str, frozenset[str], frozenset[str]], bool] = field(default_factory=dict)
    """Per (a hub flag's rule and events, the events a partnership sees): whether what it
    sees of the flag still holds (:meth:`_unseen`), found once per dispatch."""
    denials: dict[
        Sight,
        tuple[Sequence[tuple[FlagState, frozenset[str]]], list[tuple[FlagState, frozenset[str]]]],
    ] = field(default_factory=dict)
    """Per sight: the active flags (held, as given) and those denied to a partnership seeing
    it that holds none (:meth:`_denied`)."""

    def __post_init__(self) -> None:
        self.decider = Decider(self.token, self.moment, remember=self.dispatcher.remembered > 0)

    def start(self) -> None:
        """Take the partnerships' flags and counts from the state, to be changed in place.

        Not done for a subject with no flag anywhere: dispatch returns before deciding it.
        """
        self.held = {pid: dict(flags) for pid, flags in self.state.held.items()}
        self.closed = {pid: dict(counts) for pid, counts in self.state.closed.items()}
        self.consent_read = consent_read_of(self.state.consent, self.moment.watermark)

    def evaluate(self, window: SubjectWindow, episodes: Episodes | None = None) -> list[FlagState]:
        """The flags of a window, evaluated once per set of events and floors in a dispatch.

        Partnerships that may see the same events with the same floors (often all of them)
        share one evaluation: it is a function of the window, the token and the time alone.
        ``episodes``, when given, are the window's (:meth:`Dispatcher.episodes`), found already.
        """
        key = (tuple(map(_EVENT_ID, window.contributions)), tuple(sorted(window.floors.items())))
        found = self.flags.get(key)
        if found is None:
            if episodes is None:
                episodes = self.dispatcher.episodes(window)
            found = self.flags[key] = states(self.token, episodes, self.moment.at)
        return found

    def evaluate_seen(self, seen: Sight, floors: Mapping[str, datetime]) -> list[FlagState]:
        """:meth:`evaluate` of a partnership's own window (``seen.window(floors)``), built
        only when no partnership with the same events and floors was evaluated before."""
        key = (seen.key, tuple(sorted(floors.items())) if floors else ())
        found = self.flags.get(key)
        return found if found is not None else self.evaluate(seen.window(floors))

    def decide_all(
        self,
        recipients: Sequence[Recipient],
        sights: Sequence[Sight],
        active: Sequence[tuple[FlagState, frozenset[str]]],
        trigger: Trigger,
    ) -> None:
        """:meth:`decide` each partnership in order, with what decides a partnership that
        holds no flag found once per sight: whether the trigger concerns it (for a clock
        tick or an event, a function of what it sees) and the flags denied to it. Each
        partnership's view, alerts and decisions stay its own, in the same order."""
        if self.resend or trigger.consent_before is not None:  # the answers are its own
            for recipient, seen in zip(recipients, sights, strict=True):
                self.decide(recipient, active, trigger, seen)
            return
        shared: dict[Sight, tuple[bool, Sequence[tuple[FlagState, frozenset[str]]], list[str]]]
        shared = {}
        ledger, counted = self.dispatcher.ledger, self.counted
        for recipient, seen in zip(recipients, sights, strict=True):
            pid = recipient.partnership_id
            if self.held.get(pid):
                self.decide(recipient, active, trigger, seen)
                continue
            plan = shared.get(seen)
            if plan is None:  # what decide finds for a partnership holding nothing
                concerns = not self._hidden_trigger(seen, trigger) and self._concerns(
                    pid, seen, trigger
                )
                denied = self._denied(active, seen)
                rules = (
                    [] if ledger else [self.dispatcher.rules.get(f.rule_id).id for f, _ in denied]
                )
                plan = shared[seen] = (concerns, denied, rules)
            concerns, denied, rules = plan
            if concerns:
                self._view(recipient, seen)
            if ledger:
                for flag, ids in denied:
                    self._deny(pid, flag, ids)
            else:  # counted as _deny counts them
                counted.extend([Counted(rule_id, pid, "deny") for rule_id in rules])

    def decide(
        self,
        recipient: Recipient,
        active: Sequence[tuple[FlagState, frozenset[str]]],
        trigger: Trigger,
        seen: Sight,
    ) -> None:
        """Decide the subject for one partnership: its view, then denials for the ledger.

        ``active`` holds the hub's active flags, each with its event ids; ``seen``, what the
        partnership may see of the window (:meth:`Decider.sights`: one object for the
        partnerships that see the same events).
        """
        pid = recipient.partnership_id
        held = self.held.get(pid)
        hidden = not self.resend and self._hidden_trigger(seen, trigger)
        denied: Sequence[tuple[FlagState, frozenset[str]]]
        if held:
            known = {frozenset(h.events) for h in held.values()}
            # the active flags its own flags do not answer for: each needs a denial unless
            # what the partnership sees of it still holds
            unknown = [(flag, ids) for flag, ids in active if ids not in known]
            if hidden and not unknown:
                return  # not its business, and nothing to deny (most partnerships)
            denied = [(flag, ids) for flag, ids in unknown if self._unseen(flag, ids, seen)]
        else:
            denied = self._denied(active, seen)  # the same for all that see the same
        if not hidden and (self.resend or self._concerns(pid, seen, trigger)):
            self._view(recipient, seen)
        for flag, ids in denied:
            self._deny(pid, flag, ids)

    def _hidden_trigger(self, seen: Sight, trigger: Trigger) -> bool:
        """Whether the trigger is an event of the window the partnership may not see."""
        if trigger.event_id is None:
            return False
        event_id = trigger.event_id
        if event_id not in self.triggered:  # looked up once per dispatch
            contributions = self.state.window.contributions
            found = next((c for c in contributions if c.event_id == event_id), None)
            self.triggered[event_id] = found
        return self.triggered[event_id] is not None and event_id not in seen.ids

    def _concerns(self, pid: str, seen: Sight, trigger: Trigger) -> bool:
        """Whether the trigger is something the partnership may see (see :class:`Trigger`)."""
        if trigger.event_id is not None:
            return trigger.event_id in seen.ids
        if trigger.consent_before is not None:
            before = self.decider.decide(pid, trigger.consent_before)
            return see(self.state.window, before).ids != seen.ids
        return True

    def _unseen(self, flag: FlagState, ids: frozenset[str], seen: Sight) -> bool:
        """Whether what a partnership sees of a hub flag does not hold (a denial)."""
        # A function of the flag's rule and events and of the events the partnership sees:
        # partnerships seeing the same share the answer.
        key = (flag.rule_id, ids, seen.ids)
        told = self.told.get(key)
        if told is None:
            visible = [c for c in self._members(ids) if c.event_id in seen.ids]
            rule = self.dispatcher.rules.get(flag.rule_id)
            remember = self.dispatcher.remembered > 0
            holds = remembered_holds if remember else still_holds
            told = self.told[key] = bool(visible) and holds(rule, visible)
        return not told

    def _denied(
        self, active: Sequence[tuple[FlagState, frozenset[str]]], seen: Sight
    ) -> Sequence[tuple[FlagState, frozenset[str]]]:
        """The active flags denied to a partnership that holds none and sees ``seen``: found
        once per dispatch for every such partnership that sees the same."""
        found = self.denials.get(seen)
        if found is None or found[0] is not active:
            denied = [(flag, ids) for flag, ids in active if self._unseen(flag, ids, seen)]
            found = self.denials[seen] = (active, denied)
        return found[1]

    def _deny(self, pid: str, flag: FlagState, ids: frozenset[str]) -> None:
        """The ledger's denial of a hub flag to the partnership."""
        if self.dispatcher.ledger:
            members, events = self._flag_members(ids)
            self._record(pid, flag.rule_id, members, ("deny", None, None), events)
        else:
            self.counted.append(Counted(self.dispatcher.rules.get(flag.rule_id).id, pid, "deny"))

    def _members(self, ids: frozenset[str]) -> list[Contribution]:
        """The window's contributions with these ids, in order: found once per flag in a
        dispatch (every partnership that may not see it asks)."""
        return self._flag_members(ids)[0]

    def _flag_members(self, ids: frozenset[str]) -> tuple[list[Contribution], tuple[str, ...]]:
        """:meth:`_members`, and their event ids in order (what a record names)."""
        found = self.members.get(id(ids))
        if found is None or found[0] is not ids:  # held, so that its id is not reused
            members = [c for c in self.state.window.contributions if c.event_id in ids]
            found = self.members[id(ids)] = (ids, members, tuple(map(_EVENT_ID, members)))
        return found[1], found[2]

    def _own(self, partnership_id: str) -> Mapping[str, Decision]:
        """The partnership's own decisions on the window (:meth:`Decider.decisions`), the
        same mapping for each of its records and alerts in the dispatch."""
        found = self.owns.get(partnership_id)
        if found is None:
            found = self.owns[partnership_id] = self.decider.decisions(
                partnership_id, self.state.window
            )
        return found

    def _view(self, recipient: Recipient, seen: Sight) -> None:
        """Raise, update, expire or retract the partnership's flags from its own view."""
        pid = recipient.partnership_id
        at = self.moment.at
        own = self.evaluate_seen(seen, self.state.floors.get(pid, {}))
        if not own and not self.held.get(pid):
            return  # no flag of its own, none held: nothing to tell (most partnerships)
        held = self.held.setdefault(pid, {})
        pairs, gone = match(own, tuple(held.values()))
        for flag, previous in pairs:
            if flag.status is Status.EXPIRED:
                if previous is not None:
                    self._close(recipient, held.pop(previous.flag_id), AlertKind.EXPIRED)
                continue
            self._offer(recipient, flag, previous, seen)
        for previous in gone:
            kind = AlertKind.EXPIRED if at >= previous.end else AlertKind.RETRACTED
            alert_id = self._close(recipient, held.pop(previous.flag_id), kind)
            if kind is AlertKind.RETRACTED:
                members = [
                    c for c in self.state.window.contributions if c.event_id in previous.events
                ]
                ids = (previous.flag_id, alert_id)
                self._record(pid, previous.rule_id, members, ("deny", *ids))

    def _offer(
        self, recipient: Recipient, flag: FlagState, previous: Held | None, seen: Sight
    ) -> None:
        """Tell the partnership of a flag of its own view, if it is new or what it sees changed."""
        pid = recipient.partnership_id
        event_ids = flag.event_ids  # a property that builds the set: built once here
        revision = alert_revision(flag.revision, pid, event_ids)
        if previous is not None and previous.revision == revision and not self.resend:
            return  # nothing changed (a tick's rescan, most): the members are not needed
        members = [c for c in seen.visible if c.event_id in event_ids]
        if previous is not None:
            same = previous.revision == revision
            if not same and not material(previous, flag, members):
                return  # nothing a duty team acts on changed: a later update will carry it
        if previous is None:
            counts = self.closed.get(pid, {})
            anchor = flag.window_start
            reopened = counts.get(anchor_key(flag.rule_id, anchor), 0)
            own_id = recipient.ids.flag_id(flag.rule_id, self.token, anchor, reopened)
            kind = AlertKind.RAISED
        else:
            own_id, anchor = previous.flag_id, previous.anchor
            changed = previous.revision != revision
            kind = AlertKind.UPDATED if changed else AlertKind(previous.kind)
        alert_id = recipient.ids.alert_id(own_id, revision)
        self._alert(recipient, kind, (flag, own_id, alert_id), members)
        self.held[pid][own_id] = Held(
            flag_id=own_id,
            rule_id=flag.rule_id,
            anchor=anchor,
            start=flag.window_start,
            end=flag.window_end,
            severity=str(flag.severity),
            events=tuple(sorted(event_ids)),
            revision=revision,
            kind=kind.value,
            ask=tuple(sorted({c.agency_id for c in members})),
        )
        if previous is None or previous.revision != revision:
            self._record(pid, flag.rule_id, members, ("permit", own_id, alert_id))

    def _alert(
        self,
        recipient: Recipient,
        kind: AlertKind,
        ids: tuple[FlagState, str, str],
        visible: Sequence[Contribution],
    ) -> None:
        flag, own_id, alert_id = ids
        of = self._own(recipient.partnership_id)
        decisions = [of[c.event_id] for c in visible]
        rule = self.dispatcher.rules.get(flag.rule_id)
        events = tuple(
            ContributingEvent(
                type=c.event_type,
                agency=c.agency_id,
                date=c.occurred_at.date(),
                fields={n: _scalar(v) for n, v in c.fields.items() if n in d.fields},
            )
            for c, d in zip(visible, decisions, strict=True)
        )
        body = AlertBody(
            alert_id=alert_id,
            kind=kind,
            flag_id=own_id,
            rule=RuleRef(rule.id, rule.version, rule.title, " ".join(rule.explanation.split())),
            severity=str(flag.severity),
            subject=self._pseudonym(recipient),
            window_start=flag.window_start.date(),
            window_end=flag.window_end.date(),
            events=events,
            ask=tuple(sorted({c.agency_id for c in visible})),
            agreements=tuple(
                sorted({f"{d.agreement_id}@{d.agreement_version}" for d in decisions})
            ),
            decided_at=self.moment.at,
        )
        self._queue(body, recipient)

    def _close(self, recipient: Recipient, previous: Held, kind: AlertKind) -> str:
        """Tell the partnership that a flag it holds was retracted or has expired."""
        pid = recipient.partnership_id
        if kind is AlertKind.RETRACTED:
            counts = self.closed.setdefault(pid, {})
            key = anchor_key(previous.rule_id, previous.anchor)
            counts[key] = counts.get(key, 0) + 1
        rule = self.dispatcher.rules.get(previous.rule_id)
        alert_id = recipient.ids.closed_id(previous.flag_id, kind.value, previous.revision)
        body = AlertBody(
            alert_id=alert_id,
            kind=kind,
            flag_id=previous.flag_id,
            rule=RuleRef(rule.id, rule.version, "", ""),
            severity=previous.severity,
            subject=self._pseudonym(recipient),
            window_start=previous.start.date(),
            window_end=previous.end.date(),
            events=(),
            ask=(),
            agreements=(),
            decided_at=self.moment.at,
        )
        self._queue(body, recipient)
        return alert_id

    def _queue(self, body: AlertBody, recipient: Recipient) -> None:
        unnumbered = encrypt_alert(body, recipient.partnership_id, recipient.hpke)
        self.pending.append(
            Pending(recipient.partnership_id, body.alert_id, unnumbered.value, unnumbered.headers)
        )

    def _pseudonym(self, recipient: Recipient) -> str:
        if self.parsed is None:
            self.parsed = parse_token(self.token)  # once per dispatch, not per alert
        return pseudonym(self.parsed, recipient.pseudonym_key).text

    def _flag(
        self, rule: Rule, events: tuple[str, ...], members: Sequence[Contribution]
    ) -> tuple[str, str, str, str]:
        """The hub's flag (id, revision, severity) over ``members`` and its inputs digest,
        computed once per dispatch: every partnership's record of the flag names the same."""
        key = (rule.id, events)
        found = self.hub_flags.get(key)
        if found is None:
            remember = self.dispatcher.remembered > 0
            judged = remembered_flag if remember else hub_flag
            flag, revision, level = judged(rule, self.token, members)
            inputs = inputs_digest((flag, revision), events, self.moment.policy_sequence)
            found = self.hub_flags[key] = (flag, revision, level, inputs)
        return found

    def _record(
        self,
        partnership_id: str,
        rule_id: str,
        members: Sequence[Contribution],
        outcome: tuple[str, str | None, str | None],
        events: tuple[str, ...] | None = None,
    ) -> None:
        """One ledger entry: (outcome, partnership's flag id, alert id) over ``members``
        (``events``: their ids, when known); only counted when the dispatcher writes no
        ledger."""
        verdict, own_id, alert_id = outcome
        rule = self.dispatcher.rules.get(rule_id)
        if not self.dispatcher.ledger:
            self.counted.append(Counted(rule.id, partnership_id, verdict))
            return
        at = self.moment.at
        if events is None:
            events = tuple(map(_EVENT_ID, members))
        of = self._own(partnership_id)  # its own
        decisions = stamped(map(of.__getitem__, events), events, at)
        flag, revision, level, inputs = self._flag(rule, events, members)
        ids = decision_ids((flag, revision), events, partnership_id, self.moment, inputs)
        # Every value is of its field's type already (ids and digests are str, the decisions
        # and consents are models): validating them again would change nothing.
        self.records.append(
            built(
                DecisionRecord,
                {
                    "decision_id": ids[0],
                    "decided_at": self.moment.at,
                    "recipient": partnership_id,
                    "flag_id": flag,
                    "rule_id": rule.id,
                    "rule_version": rule.version,
                    "policy_sequence": self.moment.policy_sequence,
                    "outcome": verdict,
                    "events": events,
                    "inputs_digest": ids[1],
                    "decisions": decisions,
                    "alert_id": alert_id,
                    "position": self.moment.position,
                    "consents": consents_consulted(
                        self.state.consent, self.token, self.moment.at, members, decisions
                    ),
                    "severity": level,
                    "recipient_flag_id": own_id,
                    "consent_read": self.consent_read,
                },
            )
        )


def _scalar(value: FieldValue) -> Scalar:
    """Array values become one comma-separated string for the alert body."""
    return ",".join(value) if isinstance(value, tuple) else value


_EVENT_ID = operator.attrgetter("event_id")
