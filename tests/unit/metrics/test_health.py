"""Liveness and readiness verdicts from a worker snapshot."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from hub.health import Verdict, WorkerSnapshot, liveness, readiness

READY = WorkerSnapshot(
    crashed=False, stopping=False, recovered=True, rebalancing=False, in_recovery=False, assigned=3
)


def test_a_recovered_worker_with_partitions_and_no_rebalance_is_ready_and_live() -> None:
    assert readiness(READY) == Verdict(True)
    assert liveness(READY) == Verdict(True)
    assert readiness(READY).status == 200
    assert json.loads(readiness(READY).to_json()) == {"ok": True, "reasons": []}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"recovered": False}, "not_recovered"),
        ({"rebalancing": True}, "rebalancing"),
        ({"in_recovery": True}, "recovering"),
        ({"assigned": 0}, "no_assignment"),
        ({"stopping": True}, "stopping"),
        ({"crashed": True}, "crashed"),
    ],
)
def test_each_condition_alone_makes_the_worker_not_ready(
    change: dict[str, Any], reason: str
) -> None:
    snapshot = _with(change)
    verdict = readiness(snapshot)
    assert verdict.reasons == (reason,)
    assert verdict.status == 503
    assert json.loads(verdict.to_json()) == {"ok": False, "reasons": [reason]}


def test_a_starting_worker_is_live_but_not_ready_for_every_reason_at_once() -> None:
    starting = WorkerSnapshot(
        crashed=False,
        stopping=False,
        recovered=False,
        rebalancing=True,
        in_recovery=True,
        assigned=0,
    )
    assert liveness(starting).ok
    assert readiness(starting).reasons == (
        "not_recovered",
        "rebalancing",
        "recovering",
        "no_assignment",
    )


def test_a_crashed_worker_is_not_live() -> None:
    assert liveness(_with({"crashed": True})) == Verdict(False, ("crashed",))
    assert liveness(_with({"stopping": True})).ok  # a clean stop is not a crash


def _with(change: dict[str, Any]) -> WorkerSnapshot:
    return replace(READY, **change)
