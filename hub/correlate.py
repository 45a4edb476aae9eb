"""Correlation: fold an accepted event into its subject's window, then dispatch.

Pure: the faust adapter supplies the subject's stored state, the agreements governing the
event's partition (:mod:`hub.policy`) and the decision time (the accepted record's timestamp,
so a replay decides at the same moment). Area-level events and events no rule uses change
nothing and produce nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.codec import SchemaStore
from hub.dispatch import Dispatcher, Moment, Step, SubjectState
from hub.flags import contribution_of, expire
from hub.geo import AreaLookup
from hub.models import validate_event


@dataclass(frozen=True, slots=True)
class Folded:
    """An accepted event that joined a subject's window, and what dispatch made of it."""

    token: str
    event_id: str
    step: Step


@dataclass(frozen=True, slots=True)
class Correlator:
    """Accepted events in, per-subject state and dispatch steps out."""

    store: SchemaStore
    areas: AreaLookup
    dispatcher: Dispatcher

    def fold(self, value: bytes, state: SubjectState, moment: Moment) -> Folded | None:
        """Add one accepted event to its subject; None when it can contribute to no flag."""
        event = validate_event(self.store.decode(value))
        token = event.subject_token
        council = self.areas.council(event.envelope.lsoa)
        contribution = contribution_of(event, council, self.dispatcher.rules)
        if token is None or contribution is None:
            return None
        if contribution.event_id in state.window:
            window = state.window  # a redelivery: the dispatch below is idempotent too
        else:
            window = state.window.add(contribution)
        return Folded(
            token,
            event.event_id,
            self.rescan(token, state.model_copy(update={"window": window}), moment),
        )

    def rescan(self, token: str, state: SubjectState, moment: Moment) -> Step:
        """Re-decide a subject: after new events, an agreement switch, or as time passes."""
        window = expire(self.dispatcher.rules, state.window, moment.at)
        return self.dispatcher.dispatch(token, state.model_copy(update={"window": window}), moment)
