"""The cyclic collector while a backtest runs: off during a chunk, one young pass after it.

A backtest keeps almost everything it allocates (every subject's state, its window's
contributions, the flags' memos): about 100,000 tracked objects a month of the demo's events,
ten million after nine years. With the worker's policy (:func:`hub.gcpolicy.settle`: young
collections every 50,000 allocations) the collector walked each survivor in its young
collection, again in the middle one and then in every full one, and the walks got slower as
the heap grew (each reference visited is a cache miss in a large heap): 11 to 15 % of the
run, about 45 µs an event over a million (``docs/benchmarks.md``, "Backtest, eighth session").

:func:`chunk_collected` turns the collector off while a chunk of steps runs, then makes one
young collection, which walks each object the chunk allocated and kept once and frees any
reference cycle the chunk made (a refused message's exception and its traceback are one), and
freezes the survivors (:func:`gc.freeze`): no later collection walks them again. Reference
counting frees everything else at once, as always, frozen or not. What it cannot free is a
cycle made later among objects already frozen; the demo's runs make none (a full collection
after a twelve-month run with the collector off found no garbage). A collector that was off
stays off, and nothing is collected or frozen then.

::

    with chunk_collected():
        runner.run(steps)
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def chunk_collected() -> Iterator[None]:
    """The collector off for the body; then one young collection and the survivors frozen."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.collect(0)
        gc.freeze()
        gc.enable()
