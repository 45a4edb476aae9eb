"""A memo bounded by its entries and by their total size, the oldest forgotten first.

Matching remembers what it found per set of contributions, keyed by the set's object ids
(:mod:`hub.flags.match`; the flags made of episodes, :mod:`hub.flags.engine`, and the hub's
flags per members, :mod:`hub.remembered`, likewise). An entry holds tuples as long as its set,
so a count alone would not bound the memory: a feed sending one subject thousands of events
would have every entry hold thousands. Each entry is therefore weighed (the length of its
key, which is its set's), and the oldest are forgotten while the entries or their weight
exceed the bounds; an entry heavier than the whole budget is not kept at all.

An entry's value must hold the objects whose ids make its key, so that no other object can
take one of those ids while the entry is there: a key found is then the same objects.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Bounded(Generic[K, V]):
    """At most ``entries`` values, of at most ``weight`` in all, by key; the oldest go first."""

    __slots__ = ("_values", "_weight", "_weights", "entries", "get", "weight")

    def __init__(self, entries: int, weight: int) -> None:
        self._values: dict[K, V] = {}
        self._weights: OrderedDict[K, int] = OrderedDict()
        self._weight = 0
        self.entries = entries
        self.weight = weight
        self.get: Callable[[K], V | None] = self._values.get
        """The value remembered for a key, if it still is (the dict's own ``get``: a lookup
        is one call in C)."""

    def __len__(self) -> int:
        return len(self._values)

    def put(self, key: K, value: V, weight: int) -> None:
        """Remember ``value`` (of that weight) for ``key``, forgetting the oldest past a bound."""
        values, weights = self._values, self._weights
        old = weights.pop(key, None)
        if old is not None:
            del values[key]
            self._weight -= old
        if weight > self.weight:
            return  # heavier than the whole budget: it would push out everything, then itself
        while weights and (len(weights) >= self.entries or self._weight + weight > self.weight):
            oldest, heavy = weights.popitem(last=False)
            del values[oldest]
            self._weight -= heavy
        values[key] = value
        weights[key] = weight
        self._weight += weight

    def held(self) -> int:
        """The total weight of the entries remembered."""
        return self._weight

    def clear(self) -> None:
        """Forget every entry."""
        self._values.clear()
        self._weights.clear()
        self._weight = 0
