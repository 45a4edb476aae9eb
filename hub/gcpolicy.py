"""The worker's garbage-collector policy: set-up frozen, the young collected less often.

CPython's cyclic collector runs a young collection after every ``threshold0`` container
allocations (700 by default) and, every so often, a full one that walks every tracked object.
A worker holds many long-lived containers (the registry, agreements, rules, keys, schemas,
decoded subject states, caches), so its full collections walked them again and again: about
30 µs of every event's work in ``bench_domain`` (``docs/benchmarks-history.md``). :func:`settle`,
called once set-up is done, collects what set-up left behind, moves the survivors out of the
collector's sight (:func:`gc.freeze`), and raises the young threshold: the price is cyclic
garbage held until the next collection (``docs/operations.md``, "Garbage collection").

>>> from hub.gcpolicy import CollectorMeter, settle
>>> settle(young_threshold=50_000)  # doctest: +SKIP
>>> meter = CollectorMeter.start()  # doctest: +SKIP
>>> meter.stop().seconds  # doctest: +SKIP

A worker also logs every collection that holds its event loop longer than
:data:`SLOW_COLLECTION_S` (:func:`log_slow_collections`, ``gc_paused``): a pause of every agent,
one of the things a latency tail is made of (``docs/benchmarks-history.md``). The collector's
callback
only notes them; a timer logs them (:meth:`SlowCollections.flush`).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

SLOW_COLLECTION_S = 0.02
"""A collection longer than this is logged by :func:`log_slow_collections`."""

SLOW_COLLECTIONS_KEPT = 64
"""The slow collections noted between two flushes (the oldest dropped beyond it)."""

OLDER_THRESHOLDS = (10, 10)
"""CPython's own thresholds of generations 1 and 2, kept: only the young one is a setting."""


def settle(young_threshold: int) -> int:
    """Collect, freeze what survives, and collect the young every ``young_threshold``
    allocations; return the number of objects frozen."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, *OLDER_THRESHOLDS)
    return gc.get_freeze_count()


@dataclass
class CollectorMeter:
    """Collections per generation and the CPU seconds they took, from :meth:`start` on."""

    counts: list[int] = field(default_factory=lambda: [0, 0, 0])
    seconds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    _began: float = 0.0

    @classmethod
    def start(cls) -> CollectorMeter:
        """A meter listening to the collector (:data:`gc.callbacks`) until :meth:`stop`."""
        meter = cls()
        gc.callbacks.append(meter._heard)
        return meter

    def stop(self) -> CollectorMeter:
        """Stop listening; the meter keeps what it measured."""
        gc.callbacks.remove(self._heard)
        return self

    def _heard(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.process_time()
            return
        generation = info["generation"]
        self.counts[generation] += 1
        self.seconds[generation] += time.process_time() - self._began


@dataclass
class SlowCollections:
    """A :data:`gc.callbacks` listener that notes the collections longer than ``threshold_s``.

    It only notes them (a bounded queue): a collection can start inside any allocation, a log
    call's included, and structlog's printer holds a plain lock while it writes, so logging
    from the callback could wait on a lock its own thread holds, and the worker would hang.
    :meth:`flush`, called from outside the collector (a timer), logs what was noted.
    """

    threshold_s: float
    pending: deque[tuple[int, int, float, float, float]] = field(
        default_factory=lambda: deque(maxlen=SLOW_COLLECTIONS_KEPT)
    )
    _began: float = 0.0
    _cpu: float = 0.0
    _at: float = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            self._cpu = time.thread_time()
            self._at = time.time()
            return
        took = time.perf_counter() - self._began
        if took >= self.threshold_s:
            cpu = time.thread_time() - self._cpu
            self.pending.append((info["generation"], info["collected"], took, cpu, self._at))

    def flush(self) -> int:
        """Log (``gc_paused``, INFO) each noted collection, with when it began (``began``, UTC);
        how many were logged."""
        logged = 0
        while self.pending:
            generation, collected, took, cpu, at = self.pending.popleft()
            structlog.get_logger("hub.gcpolicy").info(
                "gc_paused",
                generation=generation,
                collected=collected,
                duration_ms=round(took * 1000, 3),
                cpu_ms=round(cpu * 1000, 3),
                began=datetime.fromtimestamp(at, UTC).isoformat(),
            )
            logged += 1
        return logged


def log_slow_collections(threshold_s: float = SLOW_COLLECTION_S) -> SlowCollections:
    """Note every collection that takes at least ``threshold_s`` (:meth:`SlowCollections.flush`
    logs them, ``gc_paused``); once per process (a second call, as from a second app in one
    test process, changes the bound and returns the same listener)."""
    for listener in gc.callbacks:
        if isinstance(listener, SlowCollections):
            listener.threshold_s = threshold_s
            return listener
    listener = SlowCollections(threshold_s)
    gc.callbacks.append(listener)
    return listener


@dataclass
class OwnCollections:
    """A process's collections from :meth:`start` to :meth:`stop`, each with when it began: a
    benchmark that times something (``bench.latency``) sees whether its own collector paused
    it, and when.

    A :data:`gc.callbacks` listener; it only appends a tuple a collection, logs nothing."""

    tracked: int = 0
    frozen: int = 0
    noted: list[tuple[float, int, float]] = field(default_factory=list)
    _began: float = 0.0

    @classmethod
    def start(cls) -> OwnCollections:
        """A listener on the collector until :meth:`stop`; notes how many objects the
        collector tracks now (a full collection walks them all) and how many are frozen out
        of its sight (:func:`gc.freeze`)."""
        own = cls(tracked=len(gc.get_objects()), frozen=gc.get_freeze_count())
        gc.callbacks.append(own._heard)
        return own

    def stop(self) -> OwnCollections:
        """Stop listening; keep what was noted."""
        gc.callbacks.remove(self._heard)
        return self

    def _heard(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        took = time.perf_counter() - self._began
        self.noted.append((time.time() - took, info["generation"], took))

    def summary(self, started: float) -> dict[str, object]:
        """Collections per generation, their total and longest pause (ms), and when in the
        load (s after ``started``) the longest began."""
        counts = [0, 0, 0]
        for _, generation, _ in self.noted:
            counts[generation] += 1
        at, _, longest = max(self.noted, key=lambda n: n[2], default=(started, 0, 0.0))
        return {
            "tracked_at_start": self.tracked,
            "frozen_at_start": self.frozen,
            "collections": counts,
            "total_ms": round(sum(n[2] for n in self.noted) * 1000, 1),
            "longest_ms": round(longest * 1000, 1),
            "longest_at_s": round(at - started, 2),
        }


@contextlib.contextmanager
def own_heap_frozen() -> Iterator[OwnCollections]:
    """While a benchmark measures: its heap collected and frozen, the collector's counts so
    reset, and its collections noted (:class:`OwnCollections`); unfrozen on the way out,
    unless something was frozen before (the collector cannot unfreeze only what it froze).

    Without it a full collection of the latency bench's process, over the loads it holds and
    whatever its earlier phases left, held its paced sender and its alert reader for 67 to
    150 ms at a point set by what ran before (once 29.9 s into a 30 s load), and was measured
    as the hub's latency (``docs/benchmarks-history.md``, thirteenth session)."""
    frozen_before = gc.get_freeze_count()
    gc.collect()
    gc.freeze()
    own = OwnCollections.start()
    try:
        yield own
    finally:
        own.stop()
        if not frozen_before:  # a freeze made before (settle) is left as it was, and so ours
            gc.unfreeze()
