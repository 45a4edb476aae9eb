"""The worker's collector policy (hub.gcpolicy) and its remembered-states bound."""

from __future__ import annotations

import gc
import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import structlog
import structlog.testing

from hub.config import load_settings
from hub.disclosure import SubjectState, remember_states
from hub.gcpolicy import SLOW_COLLECTIONS_KEPT, CollectorMeter, SlowCollections, settle


@pytest.fixture
def restored_collector() -> Iterator[None]:
    """The test process's collector as it was, whatever the test did to it."""
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_collector")
def test_settle_freezes_what_lives_and_raises_the_young_threshold() -> None:
    kept = [[n] for n in range(100)]
    frozen = settle(young_threshold=12_345)
    assert frozen >= len(kept)
    # Frozen objects that another thread of this process frees (an earlier test's daemon
    # thread: one ran 3 short in a make test run) leave the count; nothing adds to it.
    assert len(kept) <= gc.get_freeze_count() <= frozen
    assert gc.get_threshold() == (12_345, 10, 10)


@pytest.mark.usefixtures("restored_collector")
def test_meter_counts_collections_by_generation() -> None:
    meter = CollectorMeter.start()
    gc.collect(0)
    gc.collect(2)
    meter.stop()
    gc.collect(1)  # after stop: not counted
    assert meter.counts == [1, 0, 1]
    assert all(s >= 0 for s in meter.seconds)


def test_settings_default_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().gc_young_threshold == 50_000
    assert load_settings().state_capacity == 16_384
    monkeypatch.setenv("HUB_GC_YOUNG_THRESHOLD", "700")
    monkeypatch.setenv("HUB_STATE_CAPACITY", "10")
    assert load_settings().gc_young_threshold == 700
    assert load_settings().state_capacity == 10


def test_remembered_states_are_bounded_by_the_setting() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    states = [SubjectState(floors={"p": {"r": at + timedelta(days=n)}}) for n in range(3)]
    try:
        remember_states(2)
        written = [s.to_bytes() for s in states]
        assert SubjectState.from_bytes(written[2]) is states[2]  # remembered: not parsed
        assert SubjectState.from_bytes(written[1]) is states[1]
        oldest = SubjectState.from_bytes(written[0])  # forgotten: parsed again
        assert oldest is not states[0]
        assert oldest == states[0]
    finally:
        remember_states(16_384)


def test_a_slow_collection_is_noted_in_the_callback_and_logged_by_flush() -> None:
    """The collector's callback never logs (a collection can start inside a log call, whose
    printer holds a plain lock: logging there hung the worker); flush logs what it noted."""
    slow = SlowCollections(threshold_s=0.0)
    before = datetime.now(UTC)
    with structlog.testing.capture_logs() as logged:
        slow("start", {"generation": 0, "collected": 0, "uncollectable": 0})
        slow("stop", {"generation": 2, "collected": 7, "uncollectable": 0})
        assert logged == []
        assert slow.flush() == 1
        assert slow.flush() == 0
    (line,) = logged
    assert (line["event"], line["generation"], line["collected"]) == ("gc_paused", 2, 7)
    assert line["duration_ms"] >= 0
    assert line["cpu_ms"] >= 0
    assert before <= datetime.fromisoformat(line["began"]) <= datetime.now(UTC)  # when it began


def test_the_noted_collections_are_bounded_between_flushes() -> None:
    slow = SlowCollections(threshold_s=0.0)
    for n in range(SLOW_COLLECTIONS_KEPT + 5):
        slow("start", {})
        slow("stop", {"generation": 0, "collected": n, "uncollectable": 0})
    with structlog.testing.capture_logs() as logged:
        assert slow.flush() == SLOW_COLLECTIONS_KEPT
    assert [line["collected"] for line in logged] == list(range(5, SLOW_COLLECTIONS_KEPT + 5))


def test_a_collection_inside_a_log_call_does_not_hang_the_thread() -> None:
    """A slow collection that ends while the printer's lock is held (as inside a log call on
    the same thread) must not wait on that lock: the callback only notes it."""
    slow = SlowCollections(threshold_s=0.0)
    printer = structlog.PrintLogger(io.StringIO())
    before = structlog.get_config()
    structlog.configure(logger_factory=lambda *_: printer, cache_logger_on_first_use=False)
    done = threading.Event()

    def collect_inside_a_log_call() -> None:
        with printer._lock:
            slow("start", {})
            slow("stop", {"generation": 1, "collected": 0, "uncollectable": 0})
        done.set()

    try:
        threading.Thread(target=collect_inside_a_log_call, daemon=True).start()
        assert done.wait(timeout=30), "the collector's callback waited on the printer's lock"
        assert len(slow.pending) == 1
        slow.flush()
        assert "gc_paused" in printer._file.getvalue()
    finally:
        structlog.configure(**before)
