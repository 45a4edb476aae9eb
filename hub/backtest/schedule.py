"""Which flagged subjects a backtest's daily tick must re-decide.

The live hub's clock tick re-decides every subject holding a flag (:meth:`hub.correlate.
Correlator.rescan`), and records the rescan only if it sent an alert or changed the
subject's state; a backtest re-decides once per event-time day. Most of those rescans repeat
the one before: a dispatch is a function of the subject's window, its held flags, closed
counts and floors, its consent ledger, and the time, and the time enters only through

- each episode's status (active while ``at < end``), over the hub's window and every
  partnership's view of it;
- the agreements in force (:meth:`hub.dsa.AgreementBook.breakpoints`: the evaluator decides
  by the interval of ``at`` between two breakpoints);
- the subject's consent records (live from ``effective_from``, until ``expires_at`` or
  ``ended_at``);
- the trim after the dispatch (:meth:`hub.dispatch.Dispatcher.trim`), which changes the
  state only when ``at - horizon`` passes a contribution (it drops it, and sets the floors);
  the floors stay put otherwise (:func:`hub.flags.expire`).

So after a rescan that sent nothing and changed nothing (which the worker does not record),
every later tick gives that same dispatch and the same unchanged state, and is recorded by
nothing, until the first of those instants (:class:`Wakes`): the subject is not dispatched
until then, and nothing is counted for it. At that instant it is rescanned at the next tick
as every flagged subject is. An instant is never skipped: a rescan earlier than needed repeats
what the tick would have given, so a conservative instant is safe and a late one never
happens.

An event of a quiet subject is dispatched (it decides the partnerships that may see it) and
the subject is rescanned at the next tick, unless the event's dispatch sent nothing and left
the state as before but for the event's contribution (:func:`added_alone`): then the tick's
dispatch would record nothing either, before the earlier of the subject's wake and the event
dispatch's own next instant, and the subject stays quiet until then.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hub.dispatch import Dispatcher, SubjectState
from hub.flags import Episode, SubjectWindow
from hub.rules import Rule, RuleSet


@dataclass(frozen=True, slots=True)
class WatchedDispatcher(Dispatcher):
    """A :class:`~hub.dispatch.Dispatcher` that keeps the episodes of the windows it
    evaluates until :meth:`watched` takes them: their ends are when a status can change."""

    seen: list[list[tuple[Rule, Episode]]] = field(default_factory=list, compare=False, repr=False)

    def episodes(self, window: SubjectWindow) -> list[tuple[Rule, Episode]]:
        """:meth:`Dispatcher.episodes`, noted."""
        found = Dispatcher.episodes(self, window)  # not super(): a slots dataclass
        self.seen.append(found)
        return found

    def watched(self) -> list[list[tuple[Rule, Episode]]]:
        """The episodes noted since the last call (and forget them)."""
        seen = list(self.seen)
        self.seen.clear()
        return seen

    def forget(self) -> None:
        """Drop the episodes noted since the last call, for a caller that does not need them."""
        self.seen.clear()


@dataclass(frozen=True, slots=True)
class Instants:
    """What a subject's next change is computed from: fixed for a run."""

    breakpoints: tuple[datetime, ...]
    rules: RuleSet

    def due(
        self, at: datetime, state: SubjectState, episodes: Sequence[Sequence[tuple[Rule, Episode]]]
    ) -> datetime | None:
        """The first instant after ``at`` at which a dispatch of ``state`` may differ from
        the one at ``at`` (None when nothing is ever due)."""
        later = [e.end for found in episodes for _, e in found if e.end > at]
        later += [h.end for flags in state.held.values() for h in flags.values() if h.end > at]
        slot = bisect_right(self.breakpoints, at)
        if slot < len(self.breakpoints):
            later.append(self.breakpoints[slot])
        for record in state.consent.records:
            times = (record.effective_from, record.expires_at, record.ended_at)
            later += [t for t in times if t is not None and t > at]
        return min(later, default=None)

    def dropped(self, window: SubjectWindow) -> datetime | None:
        """The first instant a trim may drop one of the window's contributions."""
        contributions = window.contributions
        return contributions[0].occurred_at + self.rules.horizon if contributions else None

    def wake(
        self, at: datetime, state: SubjectState, episodes: Sequence[Sequence[tuple[Rule, Episode]]]
    ) -> datetime | None:
        """The first instant after ``at`` at which a tick's rescan of ``state`` may send an
        alert or change the state (None: never), the dispatch at ``at`` having done neither."""
        due, dropped = self.due(at, state, episodes), self.dropped(state.window)
        if due is None or dropped is None:
            return due or dropped
        return min(due, dropped)


def added_alone(before: SubjectState, after: SubjectState) -> bool:
    """Whether an event's dispatch of a quiet subject left it quiet: the state after it is
    ``before`` with one more contribution and nothing else changed (not a consent event, not a
    redelivery, no floor set by a late event, nothing trimmed, no flag held or closed count
    changed), the caller having seen that it sent nothing.

    Then a tick's dispatch of ``after`` records nothing before the subject's next instant.
    Each partnership that may see the event was decided by the event's own dispatch, which
    sent it nothing: at a tick before the next instant of the windows that dispatch evaluated
    (:meth:`Instants.wake`), its decision is that one again. Each partnership that may not see
    the event was not decided (:class:`hub.dispatch.Trigger`), and decides at the tick from
    what it decided from before the event: the events it may see (a decision is the event's
    own, :mod:`hub.decider`), its floors, flags and counts, all unchanged; before the old wake
    that dispatch recorded nothing. So the subject stays quiet until the earlier wake.
    """
    if after.consent is not before.consent:
        return False
    window, was = after.window, before.window
    if len(window.contributions) != len(was.contributions) + 1:
        return False  # a redelivery (nothing added) or a trim (some dropped)
    return (
        window.floors == was.floors
        and after.floors == before.floors
        and after.held == before.held
        and after.closed == before.closed
    )


@dataclass
class Wakes:
    """Quiet subjects by the instant they are next due (stale entries skipped)."""

    heap: list[tuple[datetime, str]] = field(default_factory=list)
    quiet: dict[str, datetime] = field(default_factory=dict)
    """Each quiet subject's wake."""

    def put(self, token: str, wake: datetime) -> None:
        """Mark a subject quiet until ``wake``."""
        self.quiet[token] = wake
        heapq.heappush(self.heap, (wake, token))

    def again(self, token: str, was: datetime, wake: datetime) -> None:
        """Mark quiet again, until ``wake``, a subject taken out of :attr:`quiet` since no
        tick was due at ``was`` (its wake then): its entry for ``was`` is still in the heap,
        so an unchanged wake adds none (a subject quiet for ever is one entry, not one per
        event)."""
        if wake == was:
            self.quiet[token] = was
        else:
            self.put(token, wake)

    def due(self, at: datetime) -> list[str]:
        """The quiet subjects whose wake is at or before ``at``, no longer quiet."""
        found = []
        heap, quiet = self.heap, self.quiet
        while heap and heap[0][0] <= at:
            wake, token = heapq.heappop(heap)
            if quiet.get(token) == wake:
                del quiet[token]
                found.append(token)
        return found
