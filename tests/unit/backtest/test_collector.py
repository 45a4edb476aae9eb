"""The collector around a backtest's chunk: a young pass only when the chunk may have made a
reference cycle (a refused message's exception), else what it kept is frozen unwalked."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from hub.agency import FeedMessage as SealedMessage
from hub.backtest import Backtest, BacktestSetup, Period, Policy
from hub.backtest.collector import chunk_collected
from hub.backtest.plan import Sealed
from hub.config import Settings
from tests.unit.backtest.test_backtest import T0, demo_chunks, sample_settings

PERIOD = Period(date(2026, 9, 1), date(2026, 9, 30))


class _Node:
    """An object that can hold a reference to itself."""

    me: _Node | None = None


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    gc.unfreeze()  # what the test froze: later tests in this process start from none
    if not was:
        gc.disable()


def _passes(run: Callable[[], Any]) -> list[int]:
    """The generations of the collections asked for explicitly (the collector off) in run()."""
    asked: list[int] = []

    def heard(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and not gc.isenabled():
            asked.append(info["generation"])

    gc.callbacks.append(heard)
    try:
        run()
    finally:
        gc.callbacks.remove(heard)
    return asked


@pytest.mark.usefixtures("collector_on")
def test_a_chunk_that_may_have_made_a_cycle_is_collected() -> None:
    found: list[weakref.ref[_Node]] = []

    def cycle() -> None:  # garbage once it returns, freed by the collector only
        node = _Node()
        node.me = node
        found.append(weakref.ref(node))

    def chunk() -> None:
        with chunk_collected(lambda: True):
            cycle()
            assert found[0]() is not None

    assert _passes(chunk) == [0]
    assert found[0]() is None
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_a_chunk_that_made_none_is_frozen_without_a_pass() -> None:
    kept: list[_Node] = []
    frozen = gc.get_freeze_count()

    def chunk() -> None:
        with chunk_collected(lambda: False):
            kept.extend(_Node() for _ in range(100))

    assert _passes(chunk) == []
    assert gc.get_freeze_count() >= frozen + 100
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        frozen = gc.get_freeze_count()

        def chunk() -> None:
            with chunk_collected(lambda: True):
                pass

        assert _passes(chunk) == []
        assert not gc.isenabled()
        assert gc.get_freeze_count() == frozen
    finally:
        if was:
            gc.enable()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return sample_settings(tmp_path_factory.mktemp("collector"), rows=80)


@pytest.mark.usefixtures("collector_on")
def test_the_runner_collects_after_a_chunk_that_refused_a_message(settings: Settings) -> None:
    runner = Backtest(BacktestSetup.load(settings, Policy.CURRENT, PERIOD, T0), PERIOD)
    (month,) = demo_chunks(settings, PERIOD)
    forged: list[Sealed] = [("police", SealedMessage(b"k", b"not an event", ()))]

    assert _passes(lambda: runner.feed(month)) == []
    assert runner.tally.events.total() > 0
    assert not runner.tally.quarantined

    assert _passes(lambda: runner.feed(forged)) == [0]
    assert runner.tally.quarantined.total() == 1
