"""The worker's ledger follower folds what it reads in order, letting the loop run between two
records (a fetch's worth of decisions folded in one go held every agent of the worker)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any, cast

from agents.ledger import DEFER_MAX, FOLD_WAIT_MAX_S, UNFOLDED_MAX, LedgerWriter, loop_busy
from hub.transport import Record


def record(offset: int) -> Record:
    return Record(topic="vru.audit.decisions", partition=0, offset=offset, key=None, value=b"")


async def idle() -> bool:
    """The loop's answer when the agents have nothing to do (and no step taken to ask)."""
    return False


def writer_over(busy: Any = idle) -> LedgerWriter:
    keys = cast("Any", SimpleNamespace(hub=None))  # neither signs nor verifies here
    writer = LedgerWriter(cast("Any", None), cast("Any", None), keys)
    writer.busy = busy  # type: ignore[method-assign]  # the loop's business, as the test says
    return writer


async def test_records_are_folded_in_order_with_the_loop_run_between_two() -> None:
    writer = writer_over()
    steps: list[str] = []

    def observe(r: Record) -> None:
        if r.offset == 1:
            raise RuntimeError("a record the ledger cannot take")
        steps.append(f"folded {r.offset}")

    writer.observe = observe  # type: ignore[method-assign]  # what is folded, and when
    folding = asyncio.ensure_future(writer.fold())
    for offset in range(3):
        writer.received(record(offset))
    asyncio.get_running_loop().call_soon(steps.append, "the loop ran")
    for _ in range(10):  # every step the fold can take with these records
        await asyncio.sleep(0)
    folding.cancel()
    assert steps == ["folded 0", "the loop ran", "folded 2"]  # the failing one refused
    assert not writer.unfolded


async def test_records_read_faster_than_they_are_folded_stay_bounded_and_in_order() -> None:
    writer = writer_over()
    folded: list[int] = []
    writer.observe = lambda r: folded.append(r.offset)  # type: ignore[method-assign]
    for offset in range(UNFOLDED_MAX + 10):  # a start's read of the topic, no fold running
        writer.received(record(offset))
    assert len(writer.unfolded) == UNFOLDED_MAX
    assert folded == list(range(10))  # the oldest, folded as the queue overflowed
    folding = asyncio.ensure_future(writer.fold())
    for _ in range(UNFOLDED_MAX + 10):
        await asyncio.sleep(0)
    folding.cancel()
    assert folded == list(range(UNFOLDED_MAX + 10))
    assert not writer.unfolded


class Busy:
    """The loop busy for the first ``times`` questions, idle after."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.asked = 0

    async def __call__(self) -> bool:
        self.asked += 1
        return self.asked <= self.times


async def until(condition: Any) -> None:
    """Let the loop run until ``condition()`` holds (a deadline, never a fixed sleep)."""
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110  # a plain condition, polled to a deadline
            await asyncio.sleep(0.001)


async def test_the_fold_waits_while_the_loop_is_busy_then_folds_in_order() -> None:
    busy = Busy(times=3)
    writer = writer_over(busy)
    folded: list[int] = []
    writer.observe = lambda r: folded.append(r.offset)  # type: ignore[method-assign]
    folding = asyncio.ensure_future(writer.fold())
    for offset in range(5):
        writer.received(record(offset))
    await until(lambda: busy.asked >= 3)
    assert folded == []  # nothing folded while the agents had work
    await until(lambda: len(folded) == 5)
    folding.cancel()
    assert folded == [0, 1, 2, 3, 4]


async def test_the_fold_goes_on_however_busy_the_loop_is_once_enough_is_queued() -> None:
    writer = writer_over(Busy(times=10**9))  # busy for ever
    folded: list[int] = []
    writer.observe = lambda r: folded.append(r.offset)  # type: ignore[method-assign]
    for offset in range(DEFER_MAX + 3):
        writer.received(record(offset))
    folding = asyncio.ensure_future(writer.fold())
    await until(lambda: len(folded) == 4)  # down to under DEFER_MAX: the fold waits again
    for _ in range(20):
        await asyncio.sleep(0)
    folding.cancel()
    assert folded == [0, 1, 2, 3]
    assert len(writer.unfolded) == DEFER_MAX - 1


async def test_a_record_queued_too_long_is_folded_however_busy_the_loop_is() -> None:
    """Under a steady load the fold does not wait for ever: a record queued for
    FOLD_WAIT_MAX_S (on a clock the test moves) is folded, and those after it wait their
    own turn."""
    now = [0.0]
    writer = writer_over(Busy(times=10**9))  # busy for ever, fewer than DEFER_MAX queued
    writer.clock = lambda: now[0]
    folded: list[int] = []
    writer.observe = lambda r: folded.append(r.offset)  # type: ignore[method-assign]
    folding = asyncio.ensure_future(writer.fold())
    for offset in range(3):
        writer.received(record(offset))
    now[0] = FOLD_WAIT_MAX_S / 2
    writer.received(record(3))
    for _ in range(20):
        await asyncio.sleep(0)
    assert folded == []  # none has waited long enough
    now[0] = FOLD_WAIT_MAX_S
    await until(lambda: len(folded) == 3)
    for _ in range(20):
        await asyncio.sleep(0)
    assert folded == [0, 1, 2]  # the last one queued later still waits
    now[0] = FOLD_WAIT_MAX_S * 1.5
    await until(lambda: len(folded) == 4)
    folding.cancel()
    assert folded == [0, 1, 2, 3]
    assert not writer.unfolded


async def test_a_loop_step_longer_than_the_threshold_is_busy() -> None:
    loop = asyncio.get_running_loop()
    loop.call_soon(time.sleep, 0.05)  # an agent holding the loop for 50 ms
    assert await loop_busy()
