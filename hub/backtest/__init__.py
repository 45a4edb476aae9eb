"""Backtests in event time: what the rules would have raised over past feeds.

The same domain code as the live hub (:class:`hub.ingest.Ingest`, :class:`hub.correlate.
Correlator`, the agreements' :class:`hub.dsa.Evaluator`) runs over sealed feed messages in
the order of their own time, with a clock that each event sets (its ``recorded_at``, the
earliest moment its agency could have sent it). Nothing is delivered: alerts are kept in plain
(:mod:`hub.backtest.unsealed`), read back only to be counted, and the report holds counts only,
small numbers suppressed as the board suppresses them (:mod:`hub.board.suppress`).

::

    period = Period.parse("2022-01-01", "2022-12-31")
    runner = Backtest(setup, period)          # setup: BacktestSetup.load(settings, ...)
    for chunk in demo_months(settings, keyring, period):
        runner.feed(chunk)
    report = runner.finish()                  # Report: per rule, partnership and month
    write_report(report, Path("backtest"))    # backtest.json and backtest.html

    # the same report, the run split by subject across four processes (hub.backtest.shards)
    load = functools.partial(BacktestSetup.load, settings, policy, period, now)
    store = SchemaStore.load(settings.schemas_dir)
    with ShardedBacktest(load, store, period, 4, daily=False) as runner:
        ...                                   # feed(chunk) and finish() as above
"""

from hub.backtest.period import BacktestInputError, Period
from hub.backtest.render import write_report
from hub.backtest.run import Backtest, BacktestSetup, Policy
from hub.backtest.shards import BacktestProcessError, ShardedBacktest
from hub.backtest.sources import agency_file, demo_months, police_file
from hub.backtest.tally import Report, Tally

__all__ = [
    "Backtest",
    "BacktestInputError",
    "BacktestProcessError",
    "BacktestSetup",
    "Period",
    "Policy",
    "Report",
    "ShardedBacktest",
    "Tally",
    "agency_file",
    "demo_months",
    "police_file",
    "write_report",
]
