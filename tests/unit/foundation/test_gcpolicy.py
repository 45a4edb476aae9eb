"""The worker's collector policy (hub.gcpolicy) and its remembered-states bound."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from hub.config import load_settings
from hub.disclosure import SubjectState, remember_states
from hub.gcpolicy import CollectorMeter, settle


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
    assert gc.get_freeze_count() == frozen
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
