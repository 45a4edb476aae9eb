"""Which flagged subjects a backtest's daily tick must re-decide, and what the others repeat.

The live hub's clock tick re-decides every subject holding a flag (:meth:`hub.correlate.
Correlator.rescan`), and a backtest does so once per event-time day. Most of those rescans
repeat the one before: a dispatch is a function of the subject's window, its held flags,
closed counts and floors, its consent ledger, and the time, and the time enters only through

- each episode's status (active while ``at < end``), over the hub's window and every
  partnership's view of it;
- the agreements in force (:meth:`hub.dsa.AgreementBook.breakpoints`: the evaluator decides
  by the interval of ``at`` between two breakpoints);
- the subject's consent records (live from ``effective_from``, until ``expires_at`` or
  ``ended_at``);
- the trim after the dispatch (:meth:`hub.dispatch.Dispatcher.trim`), which raises the
  window's floors to ``at - horizon`` (which changes no evaluation while no contribution is
  older than that) and drops a contribution once ``at - horizon`` passes it.

So after a rescan that changed nothing but those floors (no alert, the same held flags,
closed counts, partnership floors and contributions), every later tick repeats its decision
records exactly until the first of those instants (:class:`Quiet`). The tick then counts
the repeated records without dispatching, and brings the window's floors up to date only when
the subject is next used (raising them once to the last tick's cut gives the floors daily
trims would have: each is the largest of the cuts). When only a contribution's age is due,
the dispatch still repeats and only the trim is made (:meth:`Quiet.dispatch_due`); any other
change, or an event of the subject, is followed by a real rescan at the next tick. An
instant is never skipped: a rescan earlier than needed repeats what the tick would have
given, so a conservative instant is safe and a late one never happens.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hub.dispatch import Dispatcher, Step, SubjectState
from hub.flags import Episode, SubjectWindow
from hub.rules import Rule, RuleSet

Outcomes = tuple[tuple[tuple[str, str, str], int], ...]
"""Decision records a rescan made: ((rule id, partnership id, outcome), count)."""


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


@dataclass(frozen=True, slots=True)
class Quiet:
    """A flagged subject whose ticks repeat one rescan's records until ``due``."""

    outcomes: Outcomes
    since: int
    """The index of the first tick whose records are not counted yet."""
    last: int
    """The index of the last tick its state was brought to (by a rescan or a trim)."""
    due: datetime
    """The first instant its dispatch may differ."""
    dropped: datetime | None
    """The first instant the trim may drop a contribution (None: an empty window)."""

    def dispatch_due(self, at: datetime) -> bool:
        """Whether a tick at ``at`` must dispatch (else only its trim may differ)."""
        return at >= self.due

    @property
    def wake(self) -> datetime:
        """The first tick that cannot simply repeat."""
        return self.due if self.dropped is None else min(self.due, self.dropped)


def outcomes_of(step: Step) -> Outcomes:
    """A rescan's decisions, counted."""
    counted = Counter(step.outcomes())
    return tuple(sorted(counted.items()))


def settled(before: SubjectState, after: SubjectState) -> bool:
    """Whether a tick's rescan changed nothing but the window's floors (and sent nothing:
    the caller checks that)."""
    return (
        after.window.contributions == before.window.contributions
        and after.held == before.held
        and after.closed == before.closed
        and after.floors == before.floors
        and after.consent == before.consent
    )


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

    def raised(self, window: SubjectWindow) -> datetime | None:
        """The first instant a trim may raise one of the window's floors (None: at once)."""
        floors = [window.floors.get(rule.id) for rule in self.rules.rules]
        if not floors or None in floors:
            return None
        return min(f for f in floors if f is not None) + self.rules.horizon

    def dropped(self, window: SubjectWindow) -> datetime | None:
        """The first instant a trim may drop one of the window's contributions."""
        contributions = window.contributions
        return contributions[0].occurred_at + self.rules.horizon if contributions else None


@dataclass
class Ticks:
    """The ticks of a run so far, and how many of a span fall in each month."""

    times: list[datetime] = field(default_factory=list)
    month_starts: list[int] = field(default_factory=list)
    months: list[str] = field(default_factory=list)

    def add(self, at: datetime, month: str) -> int:
        """Note a tick; its index."""
        if not self.months or self.months[-1] != month:
            self.months.append(month)
            self.month_starts.append(len(self.times))
        self.times.append(at)
        return len(self.times) - 1

    def per_month(self, first: int, end: int) -> list[tuple[str, int]]:
        """How many of the ticks ``first`` to ``end`` (exclusive) fall in each month."""
        if first >= end:
            return []
        spans = []
        m = bisect_right(self.month_starts, first) - 1
        while m < len(self.months) and self.month_starts[m] < end:
            upper = self.month_starts[m + 1] if m + 1 < len(self.months) else len(self.times)
            spans.append((self.months[m], min(end, upper) - max(first, self.month_starts[m])))
            m += 1
        return spans


@dataclass
class Wakes:
    """Quiet subjects by the instant they are next due (stale entries skipped)."""

    heap: list[tuple[datetime, str]] = field(default_factory=list)
    quiet: dict[str, Quiet] = field(default_factory=dict)

    def put(self, token: str, quiet: Quiet) -> None:
        """Mark a subject quiet until ``quiet.wake``."""
        self.quiet[token] = quiet
        heapq.heappush(self.heap, (quiet.wake, token))

    def due(self, at: datetime) -> list[str]:
        """The quiet subjects whose wake is at or before ``at`` (still marked quiet)."""
        found = []
        heap = self.heap
        while heap and heap[0][0] <= at:
            wake, token = heapq.heappop(heap)
            quiet = self.quiet.get(token)
            if quiet is not None and quiet.wake == wake:
                found.append(token)
        return found
