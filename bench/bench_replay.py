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

With ``--history FILE`` the generated history (its decisions and the streams and keys a replay
is built from) is written to ``FILE`` (pickle), or read from it when it exists, so that runs
of two trees, interleaved, replay the same history without generating it (about 90 of the
105 seconds of a run at 100,000 decisions on this project's shared machine). Only a file this
benchmark wrote: unpickling runs code. Either way the one-process history is indexed from
those streams (``ReplaySource``), as each shard's process indexes its own.
"""

from __future__ import annotations

import argparse
import cProfile
import pickle
import pstats
import tempfile
import time
from pathlib import Path

from hub.audit import Replayer
from hub.audit.report import ReplayReport
from hub.audit.shard import default_workers, plan, replay_sharded
from tests.unit.audit.simulated import ReplaySource, Simulator, generate, world


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
    parser.add_argument(
        "--history",
        type=Path,
        metavar="FILE",
        help="read the history from FILE if it exists (written by this option), else write it",
    )
    args = parser.parse_args()
    size = args.decisions
    decisions, source = _history(size, args.history)
    workers = default_workers(len(decisions)) if args.workers is None else args.workers
    shards = plan(decisions, workers)
    started, cpu = time.perf_counter(), time.process_time()
    sharded = replay_sharded(decisions, source, workers)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu_serial = time.perf_counter(), time.process_time()
    replayer = source()  # indexes the accepted topic, verifying every MAC and signature
    indexed = (time.perf_counter() - started, time.process_time() - cpu_serial)
    profiler = cProfile.Profile() if args.profile is not None else None
    started, cpu_serial = time.perf_counter(), time.process_time()
    report = _replayed(replayer, decisions, profiler)
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
    _line("index accepted topic", len(source.accepted), indexed, "records/s")
    _line("replay (re-derive and compare)", report.entries, replayed, "decisions/s")
    _line("end to end (index + replay)", report.entries, total, "decisions/s")
    print(f"mismatches: {len(report.mismatches)}")
    print(f"report digest: {report.digest()}")
    if profiler is not None:
        profiler.dump_stats(args.profile)
        print(f"one-process replay profiled (its figures include cProfile's): {args.profile}")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def _history(size: int, saved: Path | None) -> tuple[list[bytes], ReplaySource]:
    """The decisions and what a replayer is built from: read from ``saved`` when it exists,
    else generated (and written to ``saved`` when given)."""
    if saved is not None and saved.exists():
        with saved.open("rb") as handle:
            decisions, source = pickle.load(handle)  # noqa: S301  # this bench's own file
        print(f"history read from {saved}")
    else:
        with tempfile.TemporaryDirectory() as keys:
            correlator, registry, agreements = world(Path(keys))
        sim = Simulator(correlator, registry)
        started = time.perf_counter()
        generate(sim, agreements, size)
        made = time.perf_counter() - started
        decisions, source = sim.decisions, sim.source()
        print(f"{'generate (correlate + dispatch)':<40} {len(decisions) / made:12,.0f} decisions/s")
        if saved is not None:
            with saved.open("wb") as handle:
                pickle.dump((decisions, source), handle, protocol=pickle.HIGHEST_PROTOCOL)
            print(f"history written to {saved}")
    print(f"history: {len(decisions):,} decisions from {len(source.accepted):,} accepted records")
    return decisions, source


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
