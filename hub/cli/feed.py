"""``hub feed``: send an agency's export file, or the police replay, through the agency SDK.

Register with ``app.add_typer(feed.app, name="feed")``. Every event is pseudonymised, encoded,
validated and sealed at source (``hub.agency``), then produced to the agency's feed topic with
``acks=all``. Counts go to stdout as one JSON line; rejected rows go to a rejects file (JSON
Lines, mode 0600: it holds the agency's own rows and stays at the agency), never to a log.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from hub.agency import (
    AgencyClient,
    EventDraft,
    FeedProducer,
    FileBatch,
    FileFeed,
    RowMapper,
    RowMapping,
    SendReport,
    agency_keys,
    draft_of,
    guess_format,
    read_rows,
    send_drafts,
    send_feed,
)
from hub.agency.client import DEFAULT_BATCH
from hub.agency.rows import FileFormat
from hub.codec import SchemaStore
from hub.config import Settings, load_settings
from hub.crypto.keyring import Keyring
from hub.errors import ConfigError, HubError, KeyringError
from hub.feeds.agencies import partner_events
from hub.feeds.police import police_events
from hub.feeds.source import ReplayStats
from hub.geo import AreaLookup
from hub.registry import Registry, load_registry
from hub.rules import RuleSet, catalog_from_store
from hub.transport import kafka_endpoint

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
EXIT_REJECTS = 2

BatchOption = Annotated[
    int, typer.Option("--batch-size", min=1, help="events per seal (one signature each)")
]
SingleOption = Annotated[
    bool,
    typer.Option(
        "--single-event", help="one Kafka record per event (default: one per sealed batch)"
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def _keyring(settings: Settings) -> Keyring:
    try:
        return Keyring.open(settings.keys_dir)
    except KeyringError as exc:
        raise _fail(
            f"{exc} (HUB_KEYS_DIR={settings.keys_dir}); create a development keyring with"
            f" `hub keys init {settings.keys_dir}`"
        ) from exc


def _client(
    settings: Settings, registry: Registry, agency_id: str, batch: int, *, single: bool = False
) -> AgencyClient:
    agency = next((a for a in registry.agencies if a.id == agency_id), None)
    if agency is None:
        raise _fail(f"agency {agency_id!r} is not in the registry")
    try:
        keys = agency_keys(_keyring(settings), agency_id)
    except KeyringError as exc:
        message = f"{exc}; `hub keys list {settings.keys_dir}` shows what the keyring holds"
        raise _fail(message) from exc
    store = SchemaStore.load(settings.schemas_dir)
    return AgencyClient(
        keys,
        store,
        agency.event_types,
        batch_size=batch,
        partitions=settings.partitions,
        batch_records=not single,
    )


@app.command("send")
def send(
    *,
    agency: Annotated[str, typer.Option("--agency", help="the publishing agency's id")],
    file: Annotated[Path, typer.Option("--file", exists=True, dir_okay=False, help="CSV or JSONL")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", exists=True, help="mapping YAML (docs/feeds.md)")
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv or jsonl")] = None,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="rejects file (default FILE.rejects.jsonl)")
    ] = None,
    batch: BatchOption = DEFAULT_BATCH,
    single: SingleOption = False,
) -> None:
    """Send an agency's export file as its feed; exit 2 if some rows were rejected."""
    settings = load_settings()
    file_format = _format(file, fmt)
    if mapping is None and file_format == "csv":
        raise _fail("a CSV file needs --mapping (see docs/feeds.md)")
    try:
        row_mapping = RowMapping.load(mapping) if mapping else RowMapping.by_name()
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    registry = load_registry(settings.deploy_dir / "registry.yaml")
    client = _client(settings, registry, agency, batch, single=single)
    feed = FileFeed(client, RowMapper(row_mapping, SchemaStore.load(settings.schemas_dir)))
    sink = _RejectSink(rejects or file.with_name(file.name + ".rejects.jsonl"))
    try:
        report = asyncio.run(_send_file(settings, feed, file, file_format, sink))
    except HubError as exc:
        raise _fail(f"{type(exc).__name__}: {exc}") from exc
    finally:
        sink.close()
    summary = {"agency": agency, **report.as_dict()}
    warn_outside_windows(report.outside_every_window, report.sent, settings)
    if sink.count:
        summary["rejects_file"] = str(sink.path)
    typer.echo(json.dumps(summary, sort_keys=True))
    if sink.count:
        raise typer.Exit(code=EXIT_REJECTS)


def _format(file: Path, fmt: str | None) -> FileFormat:
    if fmt is None:
        try:
            return guess_format(file)
        except ConfigError as exc:
            raise _fail(str(exc)) from exc
    if fmt not in ("csv", "jsonl"):
        raise _fail("--format is csv or jsonl")
    return "csv" if fmt == "csv" else "jsonl"


class _RejectSink:
    """Rejected rows with their reasons, JSON Lines, created 0600 on the first reject."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._handle: IO[str] | None = None

    def write(self, item: FileBatch) -> None:
        for rejected in item.rejected:
            if self._handle is None:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                self._handle = os.fdopen(fd, "w", encoding="utf-8")
            reject = rejected.reject
            line = {"line": reject.line, "reason": reject.reason, "error": reject.error}
            line |= {"detail": reject.detail, "row": rejected.row}
            self._handle.write(json.dumps(line, default=str) + "\n")
            self.count += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


async def _send_file(
    settings: Settings, feed: FileFeed, file: Path, fmt: FileFormat, sink: _RejectSink
) -> SendReport:
    total = _count_rows(file, fmt)
    topic = settings.feed_topic(feed.client.agency_id)
    with _progress() as progress:
        task = progress.add_task(f"{file.name} -> {topic}", total=total)

        def on_batch(item: FileBatch) -> None:
            sink.write(item)
            progress.advance(task, item.batch.lines)

        async with FeedProducer(kafka_endpoint(settings)) as producer:
            rows = read_rows(file, fmt)
            cutoff = window_cutoff(settings)
            return await send_feed(feed, rows, producer, topic, on_batch=on_batch, cutoff=cutoff)


def _count_rows(file: Path, fmt: FileFormat) -> int:
    with file.open(encoding="utf-8-sig") as handle:
        lines = sum(1 for text in handle if text.strip())
    return max(lines - 1, 0) if fmt == "csv" else lines


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )


@app.command("police")
def police(
    file: Annotated[
        Path | None,
        typer.Option("--file", help="a data.police.uk street CSV (default: HUB_DATA_DIR/police)"),
    ] = None,
    partners: Annotated[
        bool, typer.Option("--partners", help="also send synthetic partner-agency events")
    ] = False,
    batch: BatchOption = DEFAULT_BATCH,
    single: SingleOption = False,
) -> None:
    """Replay a police.uk CSV as the police feed; subjects are invented, deterministically."""
    settings = load_settings()
    csv_path = file or _default_police_csv(settings)
    registry = load_registry(settings.deploy_dir / "registry.yaml")
    store = SchemaStore.load(settings.schemas_dir)
    stats = ReplayStats()
    events = list(
        police_events(csv_path, AreaLookup.from_data_dir(settings.data_dir), store, stats)
    )
    by_agency: dict[str, list[EventDraft]] = defaultdict(list)
    by_agency["police"] = [draft_of(e) for e in events]
    if partners:
        for event in partner_events(events, registry, store):
            by_agency[event.agency_id].append(draft_of(event))
    clients = {a: _client(settings, registry, a, batch, single=single) for a in by_agency}
    try:
        reports = asyncio.run(_send_replay(settings, clients, by_agency))
    except HubError as exc:
        raise _fail(f"{type(exc).__name__}: {exc}") from exc
    summary: dict[str, Any] = {
        "file": csv_path.name,
        "csv_rows": stats.rows,
        "skipped": dict(sorted(stats.skipped.items())),
        "agencies": {a: r.as_dict() for a, r in sorted(reports.items())},
    }
    outside = sum(r.outside_every_window for r in reports.values())
    warn_outside_windows(outside, sum(r.sent for r in reports.values()), settings)
    typer.echo(json.dumps(summary, sort_keys=True))


def rule_horizon(settings: Settings) -> timedelta:
    """The longest rule window in force: an event older than that can join no open flag."""
    store = SchemaStore.load(settings.schemas_dir)
    return RuleSet.load(settings.deploy_dir / "rules", catalog_from_store(store)).horizon


def window_cutoff(settings: Settings) -> datetime:
    """The hub's clock now less the longest rule window: an event before it raises no flag."""
    return datetime.now(UTC) - rule_horizon(settings)


def warn_outside_windows(outside: int, sent: int, settings: Settings) -> None:
    """Say on stderr how many events sent are already outside every rule's window."""
    if not outside:
        return
    days = rule_horizon(settings).days
    typer.echo(
        f"warning: {outside} of the {sent} events sent occurred more than {days} days ago,"
        " outside every rule's window: the hub accepts them but they can raise no flag."
        " To see what they would have raised, run `hub backtest` (docs/backtest.md).",
        err=True,
    )


def _default_police_csv(settings: Settings) -> Path:
    found = sorted((settings.data_dir / "police").glob("*.csv"))
    if not found:
        raise _fail(f"no police CSV under {settings.data_dir / 'police'}; give --file")
    return found[0]


async def _send_replay(
    settings: Settings,
    clients: dict[str, AgencyClient],
    drafts: dict[str, list[EventDraft]],
) -> dict[str, SendReport]:
    reports: dict[str, SendReport] = {}
    async with FeedProducer(kafka_endpoint(settings)) as producer:
        for agency_id, items in sorted(drafts.items()):
            topic = settings.feed_topic(agency_id)
            client, cutoff = clients[agency_id], window_cutoff(settings)
            reports[agency_id] = await send_drafts(client, items, producer, topic, cutoff=cutoff)
    return reports


if __name__ == "__main__":
    app()
