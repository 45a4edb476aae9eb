"""The worker's garbage-collector policy: set-up frozen, the young collected less often.

CPython's cyclic collector runs a young collection after every ``threshold0`` container
allocations (700 by default) and, every so often, a full one that walks every tracked object.
A worker holds many long-lived containers (the registry, agreements, rules, keys, schemas,
decoded subject states, caches), so its full collections walked them again and again: about
30 µs of every event's work in ``bench_domain`` (``docs/benchmarks.md``). :func:`settle`,
called once set-up is done, collects what set-up left behind, moves the survivors out of the
collector's sight (:func:`gc.freeze`), and raises the young threshold: the price is cyclic
garbage held until the next collection (``docs/operations.md``, "Garbage collection").

>>> from hub.gcpolicy import CollectorMeter, settle
>>> settle(young_threshold=50_000)  # doctest: +SKIP
>>> meter = CollectorMeter.start()  # doctest: +SKIP
>>> meter.stop().seconds  # doctest: +SKIP

A worker also logs every collection that holds its event loop longer than
:data:`SLOW_COLLECTION_S` (:func:`log_slow_collections`, ``gc_paused``): a pause of every agent,
one of the things a latency tail is made of (``docs/benchmarks.md``).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

SLOW_COLLECTION_S = 0.02
"""A collection longer than this is logged by :func:`log_slow_collections`."""
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
class _SlowCollections:
    """A :data:`gc.callbacks` listener that logs the collections longer than ``threshold_s``."""

    threshold_s: float
    _began: float = 0.0
    _cpu: float = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            self._cpu = time.thread_time()
            return
        took = time.perf_counter() - self._began
        if took >= self.threshold_s:
            structlog.get_logger("hub.gcpolicy").info(
                "gc_paused",
                generation=info["generation"],
                collected=info["collected"],
                duration_ms=round(took * 1000, 3),
                cpu_ms=round((time.thread_time() - self._cpu) * 1000, 3),
            )


def log_slow_collections(threshold_s: float = SLOW_COLLECTION_S) -> None:
    """Log (``gc_paused``, INFO) every collection that takes at least ``threshold_s``; once
    per process (a second call, as from a second app in one test process, changes the bound)."""
    for listener in gc.callbacks:
        if isinstance(listener, _SlowCollections):
            listener.threshold_s = threshold_s
            return
    gc.callbacks.append(_SlowCollections(threshold_s))
