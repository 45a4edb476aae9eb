"""``hub backtest``: what the rules would have raised over past feeds, in event time.

Register with ``app.command("backtest")(backtest.backtest)``. Sources (any mix): ``--demo``
(the demo's generator, its police month replayed as every month of the period), ``--police
FILE`` (a data.police.uk street CSV at its published dates), ``--file FILE --agency ID``
(an agency export with ``--mapping``, as ``hub feed send``) and ``--topics all|ID,ID``
(the agencies' feed topics on the broker, read to their end). Writes ``backtest.json`` and
``backtest.html`` under ``--out``; delivers nothing (docs/backtest.md). ``--processes N`` runs
it across N processes split by subject (``hub.backtest.shards``), with the same report.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from hub.agency import guess_format
from hub.backtest import Backtest, BacktestSetup, Period, Policy, write_report
from hub.backtest.shards import Load, ShardedBacktest
from hub.backtest.sources import (
    Chunks,
    Sealer,
    agency_file,
    demo_data_dir,
    demo_months,
    first_police_csv,
    police_file,
)
from hub.backtest.topics import feed_topics
from hub.config import Settings, load_settings
from hub.crypto import Keyring
from hub.errors import HubError
from hub.gcpolicy import settle
from hub.registry import load_registry


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def backtest(  # one option per source kind; typer needs them as parameters
    *,
    start: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD (UTC)")],
    end: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD (UTC), inclusive")],
    demo: Annotated[bool, typer.Option("--demo", help="the demo's generator, every month")] = False,
    police: Annotated[
        Path | None, typer.Option("--police", help="a data.police.uk street CSV")
    ] = None,
    partners: Annotated[
        bool, typer.Option("--partners", help="with --police: synthetic partner events too")
    ] = False,
    file: Annotated[Path | None, typer.Option("--file", help="an agency's CSV or JSONL")] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="the agency of --file")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="mapping YAML")] = None,
    topics: Annotated[
        str | None,
        typer.Option("--topics", help="feed topics on the broker: all, or agency ids a,b"),
    ] = None,
    agreements: Annotated[
        Policy, typer.Option("--agreements", help="current: today's agreements throughout")
    ] = Policy.CURRENT,
    out: Annotated[Path, typer.Option("--out", help="report directory")] = Path("backtest"),
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            "-p",
            min=0,
            help="processes to run it across, split by subject (0: one per core); same report",
        ),
    ] = 1,
) -> None:
    """Run the rules and agreements over past feeds in event time; write a report."""
    settings = load_settings()
    try:
        period = Period.parse(start, end)
        if not (demo or police or file or topics):
            raise _fail("give a source: --demo, --police FILE, --file FILE --agency ID or --topics")
        if file is not None and agency is None:
            raise _fail("--file needs --agency")
        settings = _with_data(settings, out, demo=demo)
        sealer = Sealer(settings, _keyring(settings))
        load = functools.partial(
            BacktestSetup.load, settings, agreements, period, datetime.now(UTC)
        )
        sources = _Sources(demo, police, partners, file, agency, mapping, _agencies(topics))
        with _runner(load, sealer, period, processes or os.cpu_count() or 1) as runner:
            settle(settings.gc_young_threshold)  # as a worker: set-up frozen (hub.gcpolicy)
            for chunk in sources.chunks(settings, sealer, period):
                runner.feed(chunk)
            report = runner.finish({"refused_at_source": dict(sorted(sealer.refused.items()))})
        data, page = write_report(report, out)
    except HubError as exc:
        raise _fail(f"{type(exc).__name__}: {exc}") from exc
    summary = {"read": runner.read, "json": str(data), "html": str(page), "rows": len(report.rows)}
    typer.echo(json.dumps(summary, sort_keys=True))


@contextlib.contextmanager
def _runner(
    load: Load, sealer: Sealer, period: Period, processes: int
) -> Iterator[Backtest | ShardedBacktest]:
    """One process's run, or a run across ``processes`` (stopped when the command ends)."""
    if processes == 1:
        yield Backtest(load(), period)
        return
    with ShardedBacktest(load, sealer.store, period, processes, daily=False) as runner:
        yield runner


def _agencies(topics: str | None) -> tuple[str, ...] | None:
    """The agencies whose feed topics to read: () for all, None when no topic is read."""
    if topics is None:
        return None
    named = tuple(a.strip() for a in topics.split(",") if a.strip())
    return () if named in {(), ("all",)} else named


def _keyring(settings: Settings) -> Keyring:
    return Keyring.open(settings.keys_dir)


def _with_data(settings: Settings, out: Path, *, demo: bool) -> Settings:
    if not demo:
        return settings
    registry = load_registry(settings.deploy_dir / "registry.yaml")
    data_dir = demo_data_dir(settings.data_dir, registry, out / ".work")
    return settings.model_copy(update={"data_dir": data_dir})


@dataclass(frozen=True, slots=True)
class _Sources:
    """The sources the command was given."""

    demo: bool
    police: Path | None
    partners: bool
    file: Path | None
    agency: str | None
    mapping: Path | None
    topics: tuple[str, ...] | None
    """Agencies whose feed topics to read (empty: every agency's), or None."""

    def chunks(self, settings: Settings, sealer: Sealer, period: Period) -> Chunks:
        if self.demo:
            yield from demo_months(sealer, first_police_csv(settings.data_dir), period)
        if self.police is not None:
            yield from police_file(sealer, self.police, partners=self.partners)
        if self.file is not None and self.agency is not None:
            try:
                fmt = guess_format(self.file)
            except HubError as exc:
                raise _fail(str(exc)) from exc
            yield from agency_file(sealer, self.agency, self.file, self.mapping, fmt)
        if self.topics is not None:
            yield from feed_topics(settings, self.topics or None)
