"""Which accepted partition the next clock tick goes to: one partition a turn, in rotation.

A tick re-decides every subject of its partition that holds flags (about a millisecond each).
Sent to every partition at once, every ``tick_interval_s``, the ticks reached the correlation
agent together and held it for the sum of the partitions' rounds, in the middle of whatever
load was flowing (docs/benchmarks.md). The rota spreads them: the timer fires ``partitions``
times per interval and each firing ticks the next partition in turn, if this worker holds it.
Each held partition is still ticked once every ``tick_interval_s``; a partition this worker
does not hold takes its turn as a gap, so the period does not depend on the assignment. A
topic given more partitions than the settings say (an operator may add some) is still ticked
whole: partition ``p`` takes turn ``p % partitions``.

>>> rota = TickRota(4)
>>> [rota.next({0, 1, 2, 3}) for _ in range(5)]
[(0,), (1,), (2,), (3,), (0,)]
>>> rota = TickRota(4)  # a worker holding partitions 1 and 3 of four
>>> [rota.next({1, 3}) for _ in range(4)]
[(), (1,), (), (3,)]
>>> rota = TickRota(4)  # the topic grew to six partitions
>>> [rota.next({0, 1, 2, 3, 4, 5}) for _ in range(4)]
[(0, 4), (1, 5), (2,), (3,)]

A turn also waits while the worker is behind (:class:`Backlog`: the events correlation takes
arrive more than :data:`BEHIND_S` after their agency sent them), at most half a turn's period
(:func:`wait_while_behind`), so that a round of re-decisions does not land on the records of
a burst, and under a sustained overload the ticks still come.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

BEHIND_S = 0.1
"""An event older than this (since its agency sent it) when correlation takes it: behind."""

CAUGHT_UP_S = 0.25
"""Behind until no event older than :data:`BEHIND_S` has come for this long."""

TICK_WAIT_POLL_S = 0.02
"""How often a waiting turn looks again whether the worker has caught up."""


class TickRota:
    """The partitions' turns for clock ticks (:meth:`next`, once per timer firing)."""

    def __init__(self, partitions: int) -> None:
        if partitions < 1:
            raise ValueError("a topic has at least one partition")
        self.partitions = partitions
        self._turn = 0

    def period_s(self, tick_interval_s: float) -> float:
        """How often the timer fires so that each partition's turn comes every interval."""
        return tick_interval_s / self.partitions

    def next(self, held: set[int]) -> tuple[int, ...]:
        """The held partitions whose turn it is, in order (none: this turn is a gap)."""
        turn = self._turn
        self._turn = (turn + 1) % self.partitions
        return tuple(sorted(p for p in held if p % self.partitions == turn))


@dataclass
class Backlog:
    """Whether the worker is behind, from the age of the events correlation takes.

    Ages come from an unauthenticated header (``hub.metrics.origin_of``): a sender lying
    about them can only delay ticks, each by at most :func:`wait_while_behind`'s bound.
    """

    behind_s: float = BEHIND_S
    caught_up_s: float = CAUGHT_UP_S
    behind_at: float | None = None

    def note(self, age_s: float | None, now: float) -> None:
        """One record taken at ``now`` (monotonic seconds), its events ``age_s`` old."""
        if age_s is not None and age_s > self.behind_s:
            self.behind_at = now

    def behind(self, now: float) -> bool:
        """Whether an event older than :attr:`behind_s` came in the last :attr:`caught_up_s`."""
        return self.behind_at is not None and now - self.behind_at < self.caught_up_s


async def wait_while_behind(
    behind: Callable[[], bool],
    bound_s: float,
    sleep: Callable[[float], Awaitable[None]],
    poll_s: float = TICK_WAIT_POLL_S,
) -> float:
    """Wait while ``behind()`` says so, looking every ``poll_s``, at most ``bound_s``; how
    long it waited (the sum of the sleeps asked for)."""
    waited = 0.0
    while waited < bound_s and behind():
        step = min(poll_s, bound_s - waited)
        await sleep(step)
        waited += step
    return waited
