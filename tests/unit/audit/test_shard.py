"""A replay sharded by accepted partition gives the serial replay's report, tampering included.

The tamper probes of ``test_replay.py`` (each corrupted field, each changed question, both as
written and with other spacing), an unreadable record, a repeat and an entry without a
position are applied together, each to its own entry of one ledger; the serial and sharded
replays of it must give the same report (counts, every mismatch in ledger order, summary,
explanations) and history counts. One run starts real processes (``spawn``); the others
replay the shards in this process, which is the same code without the start-up cost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
import pytest

from hub.audit import Window
from hub.audit.replay import Replayer
from hub.audit.report import ReplayReport
from hub.audit.shard import conflict, merge, partition_of, plan, replay_sharded
from hub.dispatch import DecisionRecord
from tests.unit.audit.simulated import ROOT, Simulator, per_simulator
from tests.unit.audit.test_replay import PROBES, QUESTION_PROBES, _matches, _set


@pytest.fixture(scope="module")
def small(shared_small: Simulator) -> Simulator:
    """The session's simulated run of 3,000 decisions (``conftest.py``): read, never changed."""
    return shared_small


@pytest.fixture
def spawnable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A spawned process imports what it unpickles (the simulator's source, from ``tests``)
    with this process's ``sys.path``: pytest's importlib mode leaves the root off it."""
    monkeypatch.syspath_prepend(str(ROOT))


def tampered(sim: Simulator) -> tuple[list[bytes], set[str]]:
    """The ledger with every probe applied, each to its own entry; the ids of those entries.

    Built once per simulator (it reads every entry again for each probe); each caller gets
    its own list and set to change."""
    values, changed = _tampered_once(sim)
    return list(values), set(changed)


@per_simulator
def _tampered_once(sim: Simulator) -> tuple[tuple[bytes, ...], frozenset[str]]:
    values, changed = _tampered(sim)
    return tuple(values), frozenset(changed)


def _tampered(sim: Simulator) -> tuple[list[bytes], set[str]]:
    values, used, changed = list(sim.decisions), set[int](), set[str]()

    def apply(pick: str, change: Callable[[dict[str, Any]], dict[str, Any]], compact: bool) -> None:
        for n, value in enumerate(values):
            raw = json.loads(value)
            if n in used or not _matches(raw, pick):
                continue
            for path, new in change(raw).items():
                _set(raw, path, new)
            if raw == json.loads(value):
                continue  # the probe changes nothing here (the value was already that)
            values[n] = orjson.dumps(raw) if compact else json.dumps(raw).encode()
            used.add(n)
            changed.add(raw["decision_id"])
            return
        raise AssertionError(f"no entry left matches {pick}")

    for compact in (False, True):
        for pick, fields, _ in PROBES.values():
            apply(pick, lambda raw, fields=fields: fields, compact)
        for pick, path, new in QUESTION_PROBES.values():
            apply(pick, lambda raw, path=path, new=new: {path: new(sim, raw)}, compact)
    apply("any", lambda raw: {"position": None}, False)
    apply("permit", lambda raw: {"position.offset": 0}, True)
    return [b"not json", *values, values[7]], changed


def serial(sim: Simulator, values: list[bytes], **options: Any) -> tuple[ReplayReport, Any]:
    replayer = sim.source()()
    return replayer.replay(values, **options), replayer.history_counts()


@per_simulator
def serial_of_tampered(sim: Simulator) -> tuple[ReplayReport, Any]:
    """``serial(sim, tampered(sim)[0])``, replayed once per simulator for the tests that
    compare with it (they read the report and counts, never change them)."""
    return serial(sim, tampered(sim)[0])


def in_shards(sim: Simulator, values: list[bytes], **options: Any) -> tuple[ReplayReport, Any]:
    """The shards replayed one after another in this process, and merged."""
    explain = options.get("explain", ())
    results = [
        sim.source()().shard([(n, values[n]) for n in shard], options.get("window"), explain)
        for shard in plan(values, 2)
    ]
    assert len(results) == 2
    assert conflict(results) is None
    return merge(results, explain)


def test_the_shards_are_whole_partitions_in_ledger_order(small: Simulator) -> None:
    shards = plan(small.decisions, 2)
    assert sorted(n for s in shards for n in s) == list(range(len(small.decisions)))
    partitions = [{partition_of(small.decisions[n]) for n in s} for s in shards]
    assert len(partitions) == 2
    assert not partitions[0] & partitions[1]
    assert all(s == sorted(s) for s in shards)


@pytest.mark.usefixtures("spawnable")
def test_a_tampered_ledger_replayed_in_processes_gives_the_serial_report(
    small: Simulator,
) -> None:
    values, changed = tampered(small)
    explain = {json.loads(small.decisions[9])["decision_id"], "no-such-decision"}
    expected, counts = serial(small, values, explain=explain)
    sharded = replay_sharded(values, small.source(), 2, explain=explain)
    assert sharded.shards == 2
    assert sharded.fallback is None
    assert sharded.report.to_json() == expected.to_json()
    assert sharded.history == counts
    # every probe is caught, and the report is in ledger order
    assert {m.decision_id for m in expected.mismatches} >= changed
    assert expected.mismatches[0].field == "record"
    assert expected.repeats == 1
    assert len(expected.explanations) == 1


def test_a_time_window_in_shards_gives_the_serial_report(small: Simulator) -> None:
    values, _ = tampered(small)
    times = sorted(DecisionRecord.model_validate_json(v).decided_at for v in small.decisions)
    middle = times[len(times) // 2]
    window = Window(middle, middle + timedelta(hours=6))
    expected, _ = serial(small, values, window=window)
    report = in_shards(small, values, window=window)
    assert report.to_json() == expected.to_json()
    assert expected.outside > 0


@pytest.mark.usefixtures("spawnable")
def test_a_repeat_in_another_partition_falls_back_to_one_process(small: Simulator) -> None:
    """A copy of an entry with its partition changed is a repeat to the serial replay: the
    shards would each see one of them, so the replay runs again in this process."""
    shards = plan(small.decisions, 2)
    first = shards[0][0]
    raw = json.loads(small.decisions[first])
    raw["position"]["partition"] = min(partition_of(small.decisions[n]) or 0 for n in shards[1])
    values = [*small.decisions, orjson.dumps(raw)]
    copy = len(values) - 1
    assert not any(first in shard and copy in shard for shard in plan(values, 2))
    sharded = replay_sharded(values, small.source(), 2)
    expected, counts = serial(small, values)
    assert sharded.fallback == "a decision id is in two shards"
    assert sharded.report.to_json() == expected.to_json()
    assert sharded.history == counts
    assert expected.repeats == 1


@dataclass(frozen=True)
class FailingInWorkers:
    """Builds the replayer in the calling process; in a worker process, fails as ``how``
    says: ``raise`` an unexpected error, or ``die`` (the process ends, as the kernel's
    out-of-memory killer would end it)."""

    source: Callable[[], Replayer]
    parent: int
    how: str

    def __call__(self) -> Replayer:
        if os.getpid() == self.parent:
            return self.source()
        if self.how == "die":
            os._exit(9)
        raise RuntimeError("a bug in a worker")


@pytest.mark.usefixtures("spawnable")
@pytest.mark.parametrize(("how", "kind"), [("raise", "RuntimeError"), ("die", "BrokenProcessPool")])
def test_a_worker_process_that_fails_falls_back_to_one_process(
    small: Simulator, how: str, kind: str
) -> None:
    values, _ = tampered(small)
    build = FailingInWorkers(small.source(), os.getpid(), how)
    sharded = replay_sharded(values, build, 2)
    expected, counts = serial_of_tampered(small)
    assert sharded.shards == 1
    assert sharded.fallback == f"a replay process failed ({kind})"
    assert sharded.report.to_json() == expected.to_json()
    assert sharded.history == counts
