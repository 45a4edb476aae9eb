"""The cyclic garbage collector made rare while a replay's loop runs (split from
:mod:`hub.audit.replay`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector made rare for a replay's loop, and restored after.

    A replay allocates a few dozen small objects per entry and keeps its memos (bounded)
    alive: the collector's passes over them cost about a tenth of the replay's time
    (``docs/benchmarks-history.md``) and free little. The young generation is collected every
    :data:`REPLAY_YOUNG_THRESHOLD` allocations instead of every 700, so whatever cyclic
    garbage a ledger's entries do leave stays bounded however long the ledger; reference
    counting frees everything else as usual. A collector that was disabled stays so.

    What exists when the loop starts (the history just indexed, the replayer's memos) is
    frozen for the loop (:func:`gc.freeze`) and unfrozen after, into the oldest generation:
    it lives as long as the replay, and the young collections the loop makes need not walk
    it (a history just indexed is still young; ``docs/benchmarks-history.md``, branch replay12).
    Not when something is frozen already: unfreezing would undo the caller's freeze. Finding
    that out (:func:`gc.get_freeze_count`) walks every frozen object, so a replay is meant to
    be given many entries at once, not one per call in a process that froze a large heap.
    """
    if not gc.isenabled():
        yield
        return
    thresholds = gc.get_threshold()
    gc.set_threshold(REPLAY_YOUNG_THRESHOLD, *thresholds[1:])
    freezing = gc.get_freeze_count() == 0  # else the caller froze: its choice is left alone
    if freezing:
        gc.freeze()
    try:
        yield
    finally:
        if freezing:
            gc.unfreeze()
        gc.set_threshold(*thresholds)


REPLAY_YOUNG_THRESHOLD = 200_000
"""Allocations between two young collections while a replay runs (CPython's default: 700)."""
