"""Backtest speed: the demo's generator over many months, run in event time on one core.

Run: ``.venv/bin/python -m bench.bench_backtest [--events N] [--months M]``. The demo's
police month (``HUB_DATA_DIR`` or the generated sample) is replayed as every month up to last
month with its synthetic partner events (about 9,000 events a month from the shipped 2018
CSV, the region's volume), sealed by the agency SDK, and run by
:class:`hub.backtest.Backtest` under today's agreements. The months end last month because
the SDK refuses events from the future and events more than ten years old (by the wall
clock), as it does for ``hub feed``. Sealing (what ``hub feed`` does at the agencies) and
the backtest proper are
timed apart. Prints figures, the dispatches its ticks made (``rescans``) and a digest of the
report (SHA-256 of its JSON, sorted keys: equal digests, equal reports); asserts nothing.
``--daily`` dispatches every flagged subject at every tick (``Backtest(daily=True)``), the
path before ticks were scheduled, for comparison. ``--profile`` runs the backtest proper (not
the sealing) under cProfile and prints the top functions by their own time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import json
import math
import time
from datetime import UTC, date, datetime

from bench.bench_domain import WORKDIR, _settings, add_run_options, print_profile
from hub.backtest import Backtest, BacktestSetup, Period, Policy
from hub.backtest.sources import Sealer, demo_data_dir, demo_months, first_police_csv
from hub.crypto import Keyring
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
    add_run_options(parser)
    return parser.parse_args()


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
    runner = Backtest(
        BacktestSetup.load(settings, Policy.CURRENT, period, datetime.now(UTC)),
        period,
        **({"daily": True} if args.daily else {}),
    )
    sealing = running = 0.0
    frozen = 0 if args.python_gc else settle(settings.gc_young_threshold)  # as `hub backtest`
    meter = CollectorMeter.start()
    profiler = cProfile.Profile() if args.profile else None
    chunks = demo_months(sealer, first_police_csv(settings.data_dir), period)
    for n in range(months):
        started = time.process_time()
        chunk = next(chunks)
        sealed = time.process_time()
        if profiler is not None:
            profiler.enable()
        runner.feed(chunk)
        if profiler is not None:
            profiler.disable()
        sealing += sealed - started
        running += time.process_time() - sealed
        if (n + 1) % 12 == 0 or n + 1 == months:
            print(
                f"  {n + 1:>4} months {runner.read:>9,} events  backtest {running:7.1f} s CPU",
                flush=True,
            )
    meter.stop()
    report = runner.finish()
    raised = sum(f.low for f in report.by_month("flag.raised").values())
    events = runner.read
    print(f"period {period.first} to {period.last}: {months} months, {events:,} events read")
    print(f"seal (agency SDK)  {sealing:8.1f} s CPU {events / sealing:10,.0f} events/s")
    print(
        f"backtest           {running:8.1f} s CPU {events / running:10,.0f} events/s"
        f" ({running / events * 1e6:.0f} us per event)"
    )
    digest = hashlib.sha256(json.dumps(report.to_json(), sort_keys=True).encode()).hexdigest()
    print(
        f"report: {len(report.rows)} rows, at least {raised:,} flags raised, digest {digest[:16]}"
    )
    print(f"refused at source: {dict(sealer.refused)}")
    print(f"rescans: {runner.rescans:,} dispatches at ticks")
    print(
        f"gc: threshold {gc.get_threshold()}, {frozen} objects frozen at start;"
        f" collections per generation {meter.counts}, {sum(meter.seconds):.1f} s"
        " (sealing and backtest)"
    )
    if profiler is not None:
        print_profile(profiler, args.top, args.profile_out)


if __name__ == "__main__":
    main()
