"""The worker's ledger follower folds what it reads in order, letting the loop run between two
records (a fetch's worth of decisions folded in one go held every agent of the worker)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from agents.ledger import UNFOLDED_MAX, LedgerWriter
from hub.transport import Record


def record(offset: int) -> Record:
    return Record(topic="vru.audit.decisions", partition=0, offset=offset, key=None, value=b"")


async def test_records_are_folded_in_order_with_the_loop_run_between_two() -> None:
    keys = cast("Any", SimpleNamespace(hub=None))  # neither signs nor verifies here
    writer = LedgerWriter(cast("Any", None), cast("Any", None), keys)
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
    keys = cast("Any", SimpleNamespace(hub=None))
    writer = LedgerWriter(cast("Any", None), cast("Any", None), keys)
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
