"""Which accepted partition the next clock tick goes to: one partition a turn, in rotation.

A tick re-decides every subject of its partition that holds flags (about a millisecond each).
Sent to every partition at once, every ``tick_interval_s``, the ticks reached the correlation
agent together and held it for the sum of the partitions' rounds, in the middle of whatever
load was flowing (docs/benchmarks-history.md). The rota spreads them: the timer fires ``partitions``
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
"""

from __future__ import annotations


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
