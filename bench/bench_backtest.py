"""Backtest speed: the demo's generator over many months, run in event time.

Run: ``.venv/bin/python -m bench.bench_backtest [--events N] [--months M] [--processes P]``.
The demo's police month (``HUB_DATA_DIR`` or the generated sample) is replayed as every month up
to last month with its synthetic partner events (about 9,000 events a month from the shipped
2018 CSV, the region's volume), sealed by the agency SDK, and run by
:class:`hub.backtest.Backtest` under today's agreements. The months end last month because
the SDK refuses events from the future and events more than ten years old (by the wall
clock), as it does for ``hub feed``; ``--events 1000000`` (the default) is 112 months.

Every month is sealed first (what ``hub feed`` does at the agencies, timed apart: each batch of
up to 256 events one batch record, read once per batch as the hub does; ``--single`` feeds one
message per event, each with its own seal, instead; held in memory, about 1.4 kB an event;
``--cache`` keeps them in a file under the bench's work directory for the next run of the same
months) and the backtest proper is timed after: wall time and the CPU of each process.
``--processes 1`` (the default) runs in this process, as ``hub backtest`` does; ``--processes
P`` (2 or more, or ``--sharded`` for 1) runs it as ``hub backtest --processes P`` does
(:mod:`hub.backtest.shards`): this process plans and routes, P spawned processes run the
subjects of their share; each one's CPU is printed with its set-up's.
Prints the dispatches its ticks made (``rescans``) and a digest of the report (SHA-256 of its
JSON, sorted keys: equal digests, equal reports; the same for any number of processes;
``--report-out`` writes that JSON, to compare two reports part by part); asserts nothing.
``--daily`` dispatches every flagged subject at every tick (``Backtest(daily=True)``), the
path before ticks were scheduled, for comparison.
``--profile`` runs the backtest proper in this process under cProfile and prints the top
functions by their own time; ``--profile-months A:B`` profiles only months A to B (from 0, B
excluded) and stops the run there (the report is then of months 0 to B only): a late window
against an early one shows what grows with the run's length. ``rescans`` also says how many
of the ticks' dispatches sent nothing and changed nothing (the worker records none of them),
and how many events left their quiet subject quiet, the tick after each not dispatched
(:func:`hub.backtest.schedule.added_alone`).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import hashlib
import json
import math
import pickle
import resource
import time
from datetime import UTC, date, datetime
from pathlib import Path

from bench.bench_domain import WORKDIR, _settings, add_run_options, print_profile
from hub.agency import FeedMessage as SealedMessage
from hub.backtest import Backtest, BacktestSetup, Period, Policy, Report
from hub.backtest.batches import single_events
from hub.backtest.plan import Sealed
from hub.backtest.shards import Load, ShardedBacktest
from hub.backtest.sources import Sealer, demo_data_dir, demo_months, first_police_csv
from hub.config import Settings
from hub.crypto import Keyring
from hub.crypto.batchrecord import BatchRecord, is_batch_record
from hub.crypto.sealcodec import EventSeal, decode_seal
from hub.gcpolicy import CollectorMeter, settle
from hub.registry import load_registry

PER_MONTH = 9_000


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="about this many events")
    parser.add_argument("--months", type=int, default=0, help="or this many months")
    parser.add_argument(
        "--daily", action="store_true", help="rescan every flagged subject at every tick"
    )
    parser.add_argument("--processes", type=int, default=1, help="processes the run is split in")
    parser.add_argument(
        "--sharded", action="store_true", help="spawn processes even for --processes 1"
    )
    parser.add_argument(
        "--cache",
        action="store_true",
        help="keep the sealed months in a file under the bench's work directory, and reuse it",
    )
    parser.add_argument(
        "--single",
        action="store_true",
        help="feed one message per event, each with its own seal (not batch records)",
    )
    parser.add_argument(
        "--seal-only", action="store_true", help="seal the months (into --cache) and stop"
    )
    parser.add_argument(
        "--report-out", type=Path, help="write the report's JSON there (sorted keys, as hashed)"
    )
    parser.add_argument(
        "--profile-months",
        type=_months,
        metavar="A:B",
        help="in one process: profile months A to B (from 0, B excluded) alone, stop after B",
    )
    add_run_options(parser)
    args = parser.parse_args()
    if args.profile_months is not None and (args.processes != 1 or args.sharded):
        parser.error("--profile-months runs in this process (--processes 1)")
    return args


def _months(text: str) -> tuple[int, int]:
    first, _, last = text.partition(":")
    try:
        months = int(first), int(last)
    except ValueError:
        raise argparse.ArgumentTypeError("A:B, two month numbers") from None
    if not 0 <= months[0] < months[1]:
        raise argparse.ArgumentTypeError("A:B with 0 <= A < B")
    return months


def main() -> None:
    args = _arguments()
    months = args.months or math.ceil(args.events / PER_MONTH)
    WORKDIR.mkdir(parents=True, exist_ok=True)
    settings = _settings()
    registry = load_registry(settings.deploy_dir / "registry.yaml")
    data_dir = demo_data_dir(settings.data_dir, registry, WORKDIR / "backtest")
    settings = settings.model_copy(update={"data_dir": data_dir})
    today = datetime.now(UTC).date()
    end = today.year * 12 + today.month - 2  # last month, counted in months since year 0
    start = end - months + 1
    period = Period(date(start // 12, start % 12 + 1, 1), date(end // 12, end % 12 + 1, 28))
    sealer = Sealer(settings, Keyring.open(settings.keys_dir))
    cache = WORKDIR / "backtest" / f"sealed-{period.first}-{period.last}.pickle"
    chunks, sealing = _sealed(sealer, settings, period, cache if args.cache else None)
    chunks = [_singles(c) if args.single else _records(c) for c in chunks]
    events = sum(message.events for chunk in chunks for _, message in chunk)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"period {period.first} to {period.last}: {months} months, {events:,} events sealed")
    print(f"seal (agency SDK)  {sealing:8.1f} s CPU {events / sealing:10,.0f} events/s")
    print(f"memory: {rss:,.0f} MB peak with every month sealed", flush=True)
    if args.seal_only:
        return
    load = functools.partial(
        BacktestSetup.load, settings, Policy.CURRENT, period, datetime.now(UTC)
    )
    frozen = 0 if args.python_gc else settle(settings.gc_young_threshold)  # as `hub backtest`
    meter = CollectorMeter.start()
    wall, cpu = time.perf_counter(), time.process_time()
    _PROGRESS[:] = [cpu, 0]
    if args.processes == 1 and not args.sharded:
        report, rescans, unrecorded, kept = _in_process(args, load(), period, chunks)
    else:
        report, rescans, unrecorded, kept = _across(args, load, sealer, period, chunks)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    meter.stop()
    if args.profile_months is not None:  # the run stopped there
        events = sum(m.events for chunk in chunks[: args.profile_months[1]] for _, m in chunk)
    print(
        f"backtest           {wall:8.1f} s wall {events / wall:10,.0f} events/s"
        f" ({wall / events * 1e6:.0f} us per event, wall); this process {cpu:.1f} s CPU"
        f" ({cpu / events * 1e6:.0f} us per event)"
    )
    raised = sum(f.low for f in report.by_month("flag.raised").values())
    text = json.dumps(report.to_json(), sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if args.report_out is not None:
        args.report_out.write_text(text)
    print(
        f"report: {len(report.rows)} rows, at least {raised:,} flags raised, digest {digest[:16]}"
    )
    print(f"refused at source: {dict(sealer.refused)}")
    print(
        f"rescans: {rescans:,} dispatches at ticks,"
        f" {unrecorded:,} of them sent nothing and changed nothing;"
        f" {kept:,} events left their quiet subject quiet (no dispatch at the next tick)"
    )
    print(
        f"gc (this process): threshold {gc.get_threshold()}, {frozen} objects frozen at start;"
        f" collections per generation {meter.counts}, {sum(meter.seconds):.1f} s"
    )


def _sealed(
    sealer: Sealer, settings: Settings, period: Period, cache: Path | None
) -> tuple[list[list[Sealed]], float]:
    """Every month of the period sealed, and the CPU seconds it took (read from ``cache``
    when it was written before: the time printed is then the original sealing's)."""
    if cache is not None and cache.exists():
        with cache.open("rb") as handle:
            sealing, refused, chunks = pickle.load(handle)  # noqa: S301  # this bench's own file
        sealer.refused.update(refused)
        print(f"sealed months read from {cache}")
        return chunks, sealing
    started = time.process_time()
    chunks = list(demo_months(sealer, first_police_csv(settings.data_dir), period))
    sealing = time.process_time() - started
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.open("wb") as handle:
            pickle.dump((sealing, sealer.refused, chunks), handle, protocol=pickle.HIGHEST_PROTOCOL)
    return chunks, sealing


def _records(chunk: list[Sealed]) -> list[Sealed]:
    """A chunk as the agencies send it: each sealed batch as one batch record (a cache written
    before the SDK's batches were fed whole holds single-event messages: their seals name
    their batch, index and signature, so the records are rebuilt exactly)."""
    out: list[Sealed] = []
    batch: list[tuple[Sealed, EventSeal]] = []
    for item in chunk:
        agency, message = item
        if is_batch_record(message.value):
            out.append(item)
            continue
        seal = decode_seal(message.seal)
        if batch and (batch[-1][1].batch_id != seal.batch_id or batch[-1][0][0] != agency):
            out.append(_record(batch))
            batch = []
        batch.append((item, seal))
    if batch:
        out.append(_record(batch))
    return out


def _record(batch: list[tuple[Sealed, EventSeal]]) -> Sealed:
    (agency, first), seal = batch[0]
    values = tuple(item[1].value for item, _ in batch)
    record = BatchRecord(seal.agency_id, seal.key_id, seal.batch_id, values, seal.signature)
    return agency, SealedMessage(first.key, record.to_bytes(), (), None, len(values))


def _singles(chunk: list[Sealed]) -> list[Sealed]:
    """A chunk as single-event messages, each with its own seal (its inclusion proof)."""
    return [(agency, m) for agency, message in chunk for m in single_events(message)]


def _in_process(
    args: argparse.Namespace, setup: BacktestSetup, period: Period, chunks: list[list[Sealed]]
) -> tuple[Report, int, int, int]:
    runner = Backtest(setup, period, **({"daily": True} if args.daily else {}))
    first, last = args.profile_months or (0, len(chunks))
    profiler = cProfile.Profile() if args.profile or args.profile_months else None
    since = (time.process_time(), runner.read)
    for n, chunk in enumerate(chunks[:last]):
        if profiler is not None and n == first:
            profiler.enable()
            since = (time.process_time(), runner.read)
        runner.feed(chunk)
        _progress(n, len(chunks), runner.read)
    if profiler is not None:
        profiler.disable()
        cpu, read = time.process_time() - since[0], runner.read - since[1]
        read = max(read, 1)
        print(
            f"profiled months {first} to {last}: {read:,} events, {cpu / read * 1e6:.0f} us CPU"
            " per event (under cProfile)"
        )
    if last < len(chunks):
        print(f"stopped after month {last}: the report is of months 0 to {last} only")
    report = runner.finish()
    if profiler is not None:
        print_profile(profiler, args.top, args.profile_out)
    return report, runner.rescans, runner.unrecorded, runner.kept


def _across(
    args: argparse.Namespace,
    load: Load,
    sealer: Sealer,
    period: Period,
    chunks: list[list[Sealed]],
) -> tuple[Report, int, int, int]:
    processes = args.processes
    with ShardedBacktest(load, sealer.store, period, processes, daily=args.daily) as runner:
        for n, chunk in enumerate(chunks):
            runner.feed(chunk)
            _progress(n, len(chunks), runner.read)
        report = runner.finish()
    for n, share in enumerate(runner.shares):
        run = share.cpu - share.setup_cpu
        print(
            f"  process {n}: {share.tally.events.total():>9,} events accepted,"
            f" {run:7.1f} s CPU running (set-up {share.setup_cpu:.1f} s);"
            f" {share.wall:.1f} s wall after set-up, {share.waited:.1f} s of it waiting for steps;"
            f" collector {sum(share.collector.seconds):.1f} s ({share.collector.counts})"
        )
    return report, runner.rescans, runner.unrecorded, runner.kept


def _progress(n: int, months: int, read: int) -> None:
    """Every twelve months: the events fed so far, and this process's CPU per event since the
    last line (in one process, whether the cost per event grows with the run's length)."""
    if (n + 1) % 12 == 0 or n + 1 == months:
        cpu, (since, before) = time.process_time(), _PROGRESS
        rate = (cpu - since) / (read - before) * 1e6 if read > before else 0.0
        _PROGRESS[:] = [cpu, read]
        print(
            f"  {n + 1:>4} months {read:>9,} events fed ({rate:.0f} us CPU per event)", flush=True
        )


_PROGRESS = [0.0, 0]


if __name__ == "__main__":
    main()
