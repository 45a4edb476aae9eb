"""Replay speed: decisions re-derived per second, on an in-process history of 100k decisions.

Run: ``.venv/bin/python -m bench.bench_replay [DECISIONS] [WORKERS] [--profile FILE]``. The
history is made by the real correlator over simulated partitions
(``tests/unit/audit/simulated.py``): subjects giving and withdrawing consent, and a new
police agreement version half way. Each step is timed on the wall clock and in process CPU
time: the machine is shared, and CPU time is the steadier figure there. The same history is
first replayed sharded across ``WORKERS`` processes
(default as ``hub audit replay``: the machine's cores, one per 10,000 decisions at most;
``hub.audit.shard``), end to end: processes started, each one's history indexed, the entries
replayed and the reports merged, on the wall clock and as the CPU time of the busiest process
(the wall clock of an otherwise idle machine with a core per process, start-up excepted).
Prints figures, whether the sharded report is the one-process report, and each report's
digest (SHA-256 of its canonical JSON, :meth:`ReplayReport.digest`: two trees' runs compare
by it); asserts nothing.
The one-process figures come last (``make bench`` reads the last decisions/s figure).
With ``--profile FILE`` the one-process replay runs under cProfile (its figures then include
the profiler's cost): the stats go to ``FILE`` and the functions with the most time of their
own are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from pathlib import Path

from hub.audit import Replayer
from hub.audit.report import ReplayReport
from hub.audit.shard import default_workers, plan, replay_sharded
from tests.unit.audit.simulated import Simulator, generate, world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("decisions", nargs="?", type=int, default=100_000, help="history size")
    parser.add_argument(
        "workers", nargs="?", type=int, help="processes (default: as hub audit replay)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="profile the one-process replay (cProfile): its stats to FILE, the top printed",
    )
    args = parser.parse_args()
    size = args.decisions
    workers = default_workers(size) if args.workers is None else args.workers
    with tempfile.TemporaryDirectory() as keys:
        correlator, registry, agreements = world(Path(keys))
    sim = Simulator(correlator, registry)
    started = time.perf_counter()
    generate(sim, agreements, size)
    made = time.perf_counter() - started
    print(f"history: {len(sim.decisions):,} decisions from {len(sim.accepted):,} accepted records")
    print(f"{'generate (correlate + dispatch)':<40} {len(sim.decisions) / made:12,.0f} decisions/s")
    source = sim.source()
    shards = plan(sim.decisions, workers)
    started, cpu = time.perf_counter(), time.process_time()
    sharded = replay_sharded(sim.decisions, source, workers)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu_serial = time.perf_counter(), time.process_time()
    history = sim.history()  # verifies every MAC and governance signature, as replay does
    indexed = (time.perf_counter() - started, time.process_time() - cpu_serial)
    dispatcher = correlator.dispatcher
    replayer = Replayer(history, dispatcher.rules, registry, correlator.areas, dispatcher.id_keys())
    profiler = cProfile.Profile() if args.profile is not None else None
    started, cpu_serial = time.perf_counter(), time.process_time()
    report = _replayed(replayer, sim.decisions, profiler)
    replayed = (time.perf_counter() - started, time.process_time() - cpu_serial)
    total = (indexed[0] + replayed[0], indexed[1] + replayed[1])
    sizes = ", ".join(f"{len(s):,}" for s in shards)
    print(f"sharded: {workers} workers, {sharded.shards} processes, entries per process {sizes}")
    print(f"{'':<40} {'wall':>12} {'CPU':>12}")
    # CPU: of the busiest process (each process's CPU: its replayer built, its entries replayed)
    busiest = max(sharded.cpu, default=cpu)
    _line("sharded end to end (busiest process)", sharded.report.entries, (wall, busiest), "")
    shares = ", ".join(f"{c:.2f}" for c in sharded.cpu)
    print(f"CPU seconds per process (this one first): {shares}; this process in all {cpu:.2f}")
    same = sharded.report.to_json() == report.to_json() and sharded.fallback is None
    print(f"sharded report equal to the one-process report: {same} (fallback: {sharded.fallback})")
    print(f"sharded report digest: {sharded.report.digest()}")
    # one process last: bench/report.py (make bench) reads the last decisions/s figure
    print(f"{'one process':<40} {'wall':>12} {'CPU':>12}")
    _line("index accepted topic", len(sim.accepted), indexed, "records/s")
    _line("replay (re-derive and compare)", report.entries, replayed, "decisions/s")
    _line("end to end (index + replay)", report.entries, total, "decisions/s")
    print(f"mismatches: {len(report.mismatches)}")
    print(f"report digest: {report.digest()}")
    if profiler is not None:
        profiler.dump_stats(args.profile)
        print(f"one-process replay profiled (its figures include cProfile's): {args.profile}")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def _replayed(
    replayer: Replayer, decisions: list[bytes], profiler: cProfile.Profile | None
) -> ReplayReport:
    """The replay's report, run under ``profiler`` when given."""
    if profiler is None:
        return replayer.replay(decisions)
    profiler.enable()
    try:
        return replayer.replay(decisions)
    finally:
        profiler.disable()


def _line(name: str, count: int, seconds: tuple[float, float], unit: str) -> None:
    wall, cpu = seconds
    print(f"{name:<40} {count / wall:12,.0f} {count / cpu:12,.0f} {unit}")


if __name__ == "__main__":
    main()
