"""Correlation: fold an accepted event into its subject's window, then dispatch.

Pure: the faust adapter supplies the subject's stored state, the agreements governing the
event's partition (:mod:`hub.policy`) and the decision time (the accepted record's
authenticated time, so a replay decides at the same moment). Area-level events and events no
rule uses change nothing and produce nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from hub.codec import SchemaStore
from hub.consent import is_consent_event
from hub.dispatch import EVERYONE, Dispatcher, Moment, Step, SubjectState, Trigger
from hub.dsa import ConsentView
from hub.flags import Contribution, at_least, contribution_of, late_floor
from hub.geo import AreaLookup
from hub.models import Event, read_accepted
from hub.models.built import replaced, replaced_one, slot_setters


@dataclass(frozen=True, slots=True, init=False)
class Folded:
    """An accepted event that joined a subject's window, and what dispatch made of it.

    One per event: built through its slot descriptors (:func:`slot_setters`)."""

    token: str
    event_id: str
    step: Step

    def __init__(self, token: str, event_id: str, step: Step) -> None:
        _set_token(self, token)
        _set_event_id(self, event_id)
        _set_step(self, step)


_set_token, _set_event_id, _set_step = slot_setters(Folded, "token", "event_id", "step")


@dataclass(frozen=True, slots=True)
class Correlator:
    """Accepted events in, per-subject state and dispatch steps out."""

    store: SchemaStore
    areas: AreaLookup
    dispatcher: Dispatcher

    def read(self, value: bytes) -> Event:
        """The event an accepted item holds (validated at ingest; remembered when it can be)."""
        return read_accepted(self.store, value)

    def fold(self, value: bytes, state: SubjectState, moment: Moment) -> Folded | None:
        """Add one accepted event to its subject; None when it can contribute to no flag."""
        return self.fold_event(self.read(value), state, moment)

    def fold_event(self, event: Event, state: SubjectState, moment: Moment) -> Folded | None:
        """:meth:`fold` for an event already read (its subject's state chosen by its token)."""
        return self.fold_placed(event, self.areas.council(event.envelope.lsoa), state, moment)

    def fold_placed(
        self, event: Event, council: str | None, state: SubjectState, moment: Moment
    ) -> Folded | None:
        """:meth:`fold_event` for an event whose council (``self.areas``' of its LSOA) the
        caller has found already: the correlation service's SNA counting finds it first."""
        token = event.subject_token
        if token is not None and is_consent_event(event.event_type):
            consent = state.consent.apply(event, moment.at)
            updated = replaced(state, consent=consent)
            trigger = Trigger(consent_before=state.consent)
            step = self._decided(
                token, updated, moment, resend=consent == state.consent, trigger=trigger
            )
            return Folded(token, event.event_id, step)
        contribution = contribution_of(event, council, self.dispatcher.rules)
        if token is None or contribution is None:
            return None
        updated = admit(self.dispatcher, state, contribution, moment.at)
        redelivered = updated is state  # the same state for a known event id
        return Folded(
            token,
            event.event_id,
            self._decided(
                token,
                updated,
                moment,
                resend=redelivered,
                trigger=Trigger(event_id=contribution.event_id),
            ),
        )

    def rescan(
        self,
        token: str,
        state: SubjectState,
        moment: Moment,
        *,
        resend: bool = False,
        trigger: Trigger = EVERYONE,
    ) -> Step:
        """Re-decide a subject: after new events, an agreement switch, or as time passes.

        ``resend`` (a redelivered event) re-emits current alerts: the sequencer drops those
        already numbered, and restores any the first attempt lost. ``trigger`` says which
        partnerships the dispatch may move (:class:`hub.dispatch.Trigger`).
        """
        return self._decided(token, state, moment, resend=resend, trigger=trigger)

    def _decided(
        self, token: str, state: SubjectState, moment: Moment, *, resend: bool, trigger: Trigger
    ) -> Step:
        """:meth:`rescan` of an event's fold: its records are written whatever changed."""
        moment = _with_consent(moment, state.consent)
        step = self.dispatcher.dispatch(token, state, moment, resend=resend, trigger=trigger)
        trimmed = self.dispatcher.trim(token, step.state, moment)
        if trimmed is step.state:
            return step  # nothing dropped (most events): the step as it is
        # Step's fields, not dataclasses.replace (its introspection costs more than the rest)
        return Step(trimmed, step.pending, step.decisions, step.counted)


def admit(
    dispatcher: Dispatcher, state: SubjectState, contribution: Contribution, at: datetime
) -> SubjectState:
    """``state`` with the contribution in its window; the same state for a known event id.

    A late contribution (older than the rules' horizon at ``at``) is put below every floor,
    the window's and each partnership's (:func:`hub.flags.late_floor`), so that it can
    start or join no flag of the hub's or of any partnership's view: it can belong to no
    active flag, and as a member of an expired episode it could only move or retract live
    ones. The expiry after its dispatch drops it.
    """
    window = state.window.add(contribution)
    if window is state.window:
        return state
    rules = dispatcher.rules
    floor = late_floor(rules, state.window, contribution, at)
    if floor is None:
        return replaced_one(state, "window", window)
    floors = dict(state.floors)
    for recipient in dispatcher.recipients:
        pid = recipient.partnership_id
        floors[pid] = at_least(rules, state.floors.get(pid, {}), floor)
    window = replaced(window, floors=at_least(rules, window.floors, floor))
    return replaced(state, window=window, floors=floors)


_MOMENT_FIELDS = tuple(f.name for f in fields(Moment))


def _with_consent(moment: Moment, consent: ConsentView) -> Moment:
    """``dataclasses.replace(moment, consent=consent)``, copying every field (one added to
    Moment carries over) without replace's per-call introspection and ``__init__``."""
    if moment.consent is consent:
        return moment
    last = _LAST_MOMENT
    if last[0] is moment and last[1] is consent:
        found: Moment = last[2]  # a record's subjects mostly share one (empty) ledger
        return found
    new = object.__new__(Moment)
    for name in _MOMENT_FIELDS:
        object.__setattr__(new, name, getattr(moment, name))
    object.__setattr__(new, "consent", consent)
    last[:] = [moment, consent, new]  # held, so that their ids are not reused
    return new


_LAST_MOMENT: list[Any] = [None, None, None]
"""The last moment :func:`_with_consent` was given, the consent, and the moment it made."""
