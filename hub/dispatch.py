"""Dispatch: from a subject's events to what each partnership may be told, and the record of why.

Each partnership P gets **its own view** of the subject (:mod:`hub.view`): every event is
decided for P by the agreements, and the rules are evaluated over the events P may see, with
P's own expiry floors. What P is told (windows, severity, events, explanation, and whether a
flag is raised, updated, expired or retracted) is computed from that view alone, so nothing
in P's stream depends on an event P may not see. An alert is:
- minimised to the allowed fields;
- about P's own pseudonym of the subject, with flag and alert ids keyed with P's own key
  (:mod:`hub.idkey`), so two partnerships' streams share no identifier;
- encrypted to P, and queued for numbering (:mod:`hub.sequencer`).

**When** P is decided is also a function of what P may see: a dispatch caused by an event
(:class:`Trigger`) decides P only if P may see that event, or, for a consent event, if it
changes what P may see; clock ticks and agreement switches decide everyone. So an event P may
not see never makes P's stream move, not even earlier.

A held flag is ``updated`` only when what P sees of it changes, including a late event that
moves its window (the same flag, :func:`hub.view.match`); ``retracted`` when it stops holding
on what P may see (consent withdrawn, agreement ended); ``expired`` when its window closes.
Every decision becomes a :class:`DecisionRecord` for the audit ledger: permits and
retractions name P's flag and alert ids beside the hub's flag id; denials name the hub's flag
P may not see. The record holds ids and digests, never values, so that ``hub audit replay``
can take the decision again (:mod:`hub.audit.replay`). Everything here is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hub.decider import Decider
from hub.disclosure import (
    EVERYONE,
    ConsentConsulted,
    ConsentRead,
    Counted,
    DecisionRecord,
    FeedMark,
    Moment,
    Position,
    Recipient,
    Step,
    SubjectState,
    Trigger,
    alert_revision,
    anchor_key,
    consent_read_of,
    consents_consulted,
    decision_ids,
    event_facts,
    hub_flag,
    inputs_digest,
)
from hub.flags import (
    Status,
    SubjectWindow,
    episodes_of,
    expire,
    floored,
)
from hub.idkey import IdKey
from hub.models.built import replaced
from hub.rounds import Episodes, Round
from hub.rules import RuleSet

__all__ = [
    "EVERYONE",
    "ConsentConsulted",
    "ConsentRead",
    "Counted",
    "DecisionRecord",
    "Dispatcher",
    "FeedMark",
    "Moment",
    "Position",
    "Recipient",
    "Step",
    "SubjectState",
    "Trigger",
    "alert_revision",
    "anchor_key",
    "consent_read_of",
    "consents_consulted",
    "decision_ids",
    "event_facts",
    "hub_flag",
    "inputs_digest",
]


@dataclass(frozen=True, slots=True)
class Dispatcher:
    """The fixed inputs of dispatch: rules and recipients.

    With ``remembered`` above 0 (a backtest's) it has the decider remember windows' classes
    and sights, and dispatch the hub's flags of deny records, across dispatches
    (:mod:`hub.decider`, :mod:`hub.remembered`); the live worker keeps 0. A window's
    episodes are the flags' to remember (:func:`hub.flags.episodes_of`, by the window's
    last contribution and length, and by each rule's candidates): until 2026-12-07 this
    class also remembered up to ``remembered`` windows' episodes by every contribution's id
    and the floors, which answered 2,356 of 26,012 asks over three months of the demo and
    cost more than it saved (``docs/backtest.md``).
    """

    rules: RuleSet
    recipients: tuple[Recipient, ...]
    remembered: int = 0
    ledger: bool = True
    """Whether dispatch writes its decisions as ledger records (the live path, replay). A
    backtest, which delivers nothing and records nothing, only counts them (:class:`Counted`
    in :attr:`Step.counted`): no decision is restamped, no id hashed, no record built."""
    partnership_ids: tuple[str, ...] = field(init=False, compare=False, repr=False)
    """The recipients' partnership ids, in order (what :meth:`Decider.sights` is asked)."""

    def __post_init__(self) -> None:
        ids = tuple(r.partnership_id for r in self.recipients)
        object.__setattr__(self, "partnership_ids", ids)  # frozen: set once, as __init__ does

    def episodes(self, window: SubjectWindow) -> Episodes:
        """The window's episodes (:func:`hub.flags.episodes_of`)."""
        return episodes_of(self.rules, window)

    def dispatch(
        self,
        token: str,
        state: SubjectState,
        moment: Moment,
        *,
        resend: bool = False,
        trigger: Trigger = EVERYONE,
    ) -> Step:
        """Re-evaluate a subject at ``moment`` and say what changes for whom.

        ``resend`` re-emits every current alert even when the state says it was sent: after a
        redelivery, the first attempt's outbox records may never have left. The sequencer drops
        the ones that did (same alert ids).
        """
        window = state.window
        found = self.episodes(window)
        if not found and not state.sent:
            return Step(state, (), ())  # no flag for anyone: no partnership can have one
        run = Round(self, token, state, moment, resend=resend)
        evaluated = run.evaluate(window, found)
        run.start()
        active = [(f, f.event_ids) for f in evaluated if f.status is Status.ACTIVE]
        sights = run.decider.sights(self.partnership_ids, window)
        run.decide_all(self.recipients, sights, active, trigger)
        held = {pid: flags for pid, flags in run.held.items() if flags}
        closed = {pid: counts for pid, counts in run.closed.items() if counts}
        new_state = replaced(state, held=held, closed=closed)
        return Step(new_state, tuple(run.pending), tuple(run.records), tuple(run.counted))

    def id_keys(self) -> dict[str, IdKey]:
        """Every recipient's id key, by partnership: what an auditor maps ids with."""
        return {r.partnership_id: r.ids for r in self.recipients}

    def trim(self, token: str, state: SubjectState, moment: Moment) -> SubjectState:
        """Drop what no flag can need any more, keeping every partnership's flags the same.

        The window loses contributions older than the rules' horizon; each partnership's
        floors are computed over its own view (:func:`hub.flags.expire`), so what is dropped
        can never look like a new flag to it.
        """
        window = expire(self.rules, state.window, moment.at)
        if window is state.window:
            return state  # nothing dropped: nothing changes (hub.flags.expire)
        floors: dict[str, Mapping[str, datetime]] = {}
        decider = Decider(token, moment, remember=self.remembered > 0)
        sights = decider.sights(self.partnership_ids, state.window)
        for pid, seen in zip(self.partnership_ids, sights, strict=True):
            own = seen.window(state.floors.get(pid, {}))
            floors[pid] = floored(self.rules, own, moment.at - self.rules.horizon)
        return replaced(state, window=window, floors=floors)
