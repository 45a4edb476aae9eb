"""The cyclic collector while a backtest runs: off during a chunk, its survivors frozen after.

A backtest keeps almost everything it allocates (every subject's state, its window's
contributions, the flags' memos): about 100,000 tracked objects a month of the demo's events,
ten million after nine years. With the worker's policy (:func:`hub.gcpolicy.settle`: young
collections every 50,000 allocations) the collector walked each survivor in its young
collection, again in the middle one and then in every full one, and the walks got slower as
the heap grew (each reference visited is a cache miss in a large heap): 11 to 15 % of the
run, about 45 µs an event over a million (``docs/benchmarks-history.md``, "Backtest, eighth
session").

:func:`chunk_collected` turns the collector off while a chunk of steps runs, then freezes
what the chunk allocated (:func:`gc.freeze`): no collection walks it, then or later.
Reference counting frees everything that is not in a reference cycle at once, as always,
frozen or not. A cycle is garbage only the collector frees, so a chunk that may have made
one is collected first (one young collection: it walks each object the chunk allocated
once). The one the runner knows of is a refused message's (its exception, traceback and
frames): the runner asks for the collection when the chunk refused a message. A chunk that
refused none is not walked: over the demo's months the young collection after each found
nothing to free, and cost 7 to 10 % of a run of a year or two (a third of a million objects
a month, walked at 0.2 to 0.5 µs each as the heap grows). What this gives up is a cycle made
by some other path in a chunk with no refusal: it stays, frozen; the demo's runs make none
(a full collection after a twelve-month run with the collector off found no garbage). A
collector that was off stays off, and nothing is collected or frozen then.

::

    with chunk_collected(lambda: refused_in_chunk > 0):
        runner.run(steps)
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def chunk_collected(cycles: Callable[[], bool]) -> Iterator[None]:
    """The collector off for the body; then one young collection if ``cycles()`` says the
    body may have made a reference cycle, and everything it kept frozen."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if cycles():
            gc.collect(0)
        gc.freeze()
        gc.enable()
