"""A memo bounded by its entries and by their total size, kept in two generations.

Matching remembers what it found per set of contributions, keyed by the set's object ids
(:mod:`hub.flags.match`; the flags made of episodes, :mod:`hub.flags.engine`, and the hub's
flags per members, :mod:`hub.remembered`, likewise). An entry holds tuples as long as its set,
so a count alone would not bound the memory: a feed sending one subject thousands of events
would have every entry hold thousands. Each entry is therefore weighed (the length of its
key, which is its set's), and the entries and their weight are bounded.

The entries are kept in two generations, each of at most half the entries and half the
weight: new entries go into the newer, and when it is full the older is forgotten whole and
the newer becomes the older. An entry found in the older is copied into the newer, so an
entry in use outlives its generation; every entry put is kept for at least half the bounds'
puts after it. Forgetting is one dictionary dropped per half of the bounds, not the oldest
entry unlinked at every put once the memo is full (a long backtest fills the matcher's memos
in a few months and put then evicted on nearly every call, reaching back into memory
untouched since the entry was made), and a lookup found in the newer is one call in C.
An entry heavier than half the weight is not kept at all (nor any in a memo of fewer than
two entries).

An entry's value must hold the objects whose ids make its key, so that no other object can
take one of those ids while the entry is there: a key found is then the same objects. A
value is never None (None is what a lookup of a key not remembered returns).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class _Generation(dict[Any, Any]):
    """One generation's values by key, their weights, and their total weight. A key the
    newer lacks is looked for in the older (``__missing__``, called by the dict's own
    ``__getitem__``, in C, only on a miss) and copied into the newer when found there."""

    __slots__ = ("held", "memo", "older", "weights")

    def __init__(self, memo: Bounded[Any, Any] | None, older: _Generation | None) -> None:
        super().__init__()
        self.memo = memo
        self.older = older
        self.weights: dict[Any, int] = {}
        self.held = 0

    def __missing__(self, key: Any) -> Any:
        older, memo = self.older, self.memo
        if older is None or memo is None:  # the older generation: it looks no further
            return None
        value = older.get(key)  # the dict's own get: no __missing__ there
        if value is not None:
            memo.put(key, value, older.weights[key])
        return value


class Bounded(Generic[K, V]):
    """At most ``entries`` values, of at most ``weight`` in all, by key, half of each in
    either of two generations; the older generation goes whole when the newer is full."""

    __slots__ = ("_new", "_old", "entries", "get", "weight")

    def __init__(self, entries: int, weight: int) -> None:
        self.entries = entries
        self.weight = weight
        self._old = _Generation(None, None)
        self._new = _Generation(self, self._old)  # it refers to the memo: both live as long
        self.get: Callable[[K], V | None] = self._new.__getitem__
        """The value remembered for a key, if it still is (the newer generation's own
        lookup, in C; the older is searched only on a miss)."""

    def __len__(self) -> int:
        return len(self._new) + len(self._old)

    def put(self, key: K, value: V, weight: int) -> None:
        """Remember ``value`` (of that weight) for ``key``, forgetting the older generation
        when the newer is full."""
        new = self._new
        weights = new.weights
        prior = weights.get(key)
        if prior is not None:  # put again: its old weight no longer counts
            new.held -= prior
            del weights[key], new[key]
        if weight > self.weight // 2 or self.entries // 2 < 1:  # more than a generation holds
            old = self._old
            prior = old.weights.pop(key, None)
            if prior is not None:  # nor the value put before it
                old.held -= prior
                del old[key]
            return
        if len(new) >= self.entries // 2 or new.held + weight > self.weight // 2:
            new = self._turned()
            weights = new.weights
        new[key] = value
        weights[key] = weight
        new.held += weight

    def _turned(self) -> _Generation:
        """The newer generation made the older (the older forgotten whole), and a new one."""
        new = self._new
        new.memo = new.older = None  # the older looks no further
        self._old = new
        self._new = fresh = _Generation(self, new)
        self.get = fresh.__getitem__
        return fresh

    def held(self) -> int:
        """The total weight of the entries remembered (an entry copied into the newer
        generation counted in both: both hold it)."""
        return self._new.held + self._old.held

    def values(self) -> Iterator[V]:
        """Every value remembered, the newer generation's first (one copied into the
        newer given twice)."""
        yield from self._new.values()
        yield from self._old.values()

    def clear(self) -> None:
        """Forget every entry."""
        self._new.memo = self._new.older = None
        self._old = old = _Generation(None, None)
        self._new = fresh = _Generation(self, old)
        self.get = fresh.__getitem__
