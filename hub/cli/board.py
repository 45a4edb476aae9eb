"""``hub audit report`` and ``hub dashboard``: the board's aggregates, as a file or a web page.

Both read the decisions, heads, agreements and quarantine topics of ``HUB_BROKER_URL`` and
``HUB_TOPIC_PREFIX`` from their start (``report`` can read an export instead) and draw
:mod:`hub.board`'s panels. The dashboard is read-only (GET only) and binds to loopback unless
told otherwise. See ``docs/dashboard.md``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from aiohttp import web

from hub.board import (
    Board,
    Chooser,
    Inputs,
    Period,
    Sources,
    build_board,
    render,
    sources_of,
)
from hub.board.page import plotly_js
from hub.cli.audit import FromDirOption, HubKeysOption
from hub.cli.audit_topics import load_topics
from hub.config import Settings, load_settings
from hub.crypto import VerifyKey
from hub.crypto.bundle import load_trusted_keys
from hub.crypto.trust import TrustedKeys
from hub.errors import HubError, UnknownTopicError
from hub.partnership import load_hub_keys
from hub.registry import Registry, load_registry
from hub.rules import Rule, RuleSet
from hub.transport import (
    KafkaEndpoint,
    Record,
    kafka_endpoint,
)
from hub.transport.kafka import KafkaTransport
from hub.transport.topiclog import read_partition

DEFAULT_PRESET = "30d"
EXIT_FAILED = 1
EXIT_UNREADABLE = 2
_HEADERS = {
    # Everything the page needs comes from the hub itself; plotly's embedding is inline script.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def _values(endpoint: KafkaEndpoint, topic: str, number: int = 0) -> list[bytes]:
    found: list[bytes] = []

    def keep(record: Record) -> None:
        found.append(record.value or b"")

    await read_partition(endpoint, topic, keep, number)
    return found


async def _every_partition(endpoint: KafkaEndpoint, topic: str) -> list[bytes]:
    """Every partition's values, each read to its end (none when the topic does not exist)."""
    found: list[bytes] = []

    def keep(record: Record) -> None:
        found.append(record.value or b"")

    async with KafkaTransport(endpoint) as transport:
        try:
            count = await transport.partitions(topic)
        except UnknownTopicError:
            return []
        for number in range(count):
            await transport.read(topic, number, keep)
    return found


def _keys(settings: Settings, hub_keys: Path | None) -> tuple[VerifyKey, ...]:
    try:
        return load_hub_keys(hub_keys or settings.keys_dir)
    except HubError as exc:
        typer.echo(f"warning: no hub verify key ({exc}); verification not checked", err=True)
        return ()


def _trusted(settings: Settings, hub_keys: Path | None) -> TrustedKeys:
    try:
        return load_trusted_keys(hub_keys or settings.keys_dir)
    except HubError as exc:
        typer.echo(f"warning: no public keys ({exc}); nothing can be counted", err=True)
        return TrustedKeys()


def _rules(settings: Settings) -> tuple[Rule, ...]:
    try:
        return RuleSet.load(settings.deploy_dir / "rules").rules
    except HubError as exc:
        typer.echo(f"warning: rules unreadable ({exc}); severities not derived", err=True)
        return ()


def _registry(settings: Settings) -> Registry:
    try:
        return load_registry(settings.deploy_dir / "registry.yaml")
    except HubError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from exc


@dataclass(frozen=True, slots=True)
class _Context:
    """What is read once from files: the registry, the hub's verify keys, the rules."""

    registry: Registry
    keys: tuple[VerifyKey, ...]
    rules: tuple[Rule, ...]
    trusted: TrustedKeys


def _context(settings: Settings, hub_keys: Path | None) -> _Context:
    return _Context(
        _registry(settings),
        _keys(settings, hub_keys),
        _rules(settings),
        _trusted(settings, hub_keys),
    )


async def _read_inputs(settings: Settings, context: _Context) -> Inputs:
    endpoint = kafka_endpoint(settings)
    return Inputs(
        decisions=await _values(endpoint, settings.decisions_topic),
        heads=await _values(endpoint, settings.heads_topic),
        agreements=await _values(endpoint, settings.agreements_topic),
        registry=context.registry,
        topic_prefix=settings.topic_prefix,
        keys=context.keys,
        quarantine=await _every_partition(endpoint, settings.quarantine_topic),
        rules=context.rules,
        trusted=context.trusted,
        decisions_topic=settings.decisions_topic,
        agreements_topic=settings.agreements_topic,
    )


def report(  # typer maps each keyword-only parameter to one option
    *,
    out: Annotated[Path | None, typer.Option("--out", help="write the HTML report here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the aggregates as JSON")] = False,
    start: Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day, YYYY-MM-DD")] = None,
    from_dir: FromDirOption = None,
    hub_keys: HubKeysOption = None,
) -> None:
    """Write a self-contained HTML report for the board (charts included), and/or its JSON.

    Counts from 1 to 4 show as <5. Exits 1 when the ledger fails verification (the report
    is still written and says so), 2 when the topics cannot be read.
    """
    if out is None and not as_json:
        raise typer.BadParameter("give --out FILE, --json, or both", param_hint="--out")
    try:
        period = Period.parse(start, end)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--from/--to") from exc
    settings = load_settings()
    context, now = _context(settings, hub_keys), datetime.now(UTC)
    try:
        inputs = _inputs_for_report(settings, context, from_dir)
    except HubError as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from exc
    board = build_board(sources_of(inputs, now), period, now)
    if out is not None:
        out.write_text(render(board), encoding="utf-8")
        typer.echo(f"report for {period.label} written to {out}", err=as_json)
    if as_json:
        typer.echo(json.dumps(board.to_json(), indent=2))
    if board.verification.outcome == "failed":
        typer.echo(f"verification FAILED: {board.verification.detail}", err=True)
        raise typer.Exit(EXIT_FAILED)


def _inputs_for_report(settings: Settings, context: _Context, from_dir: Path | None) -> Inputs:
    if from_dir is None:
        return asyncio.run(_read_inputs(settings, context))
    topics = load_topics(settings, from_dir)
    return Inputs(
        topics.decisions,
        topics.heads,
        topics.agreements,
        context.registry,
        settings.topic_prefix,
        context.keys,
        rules=context.rules,
        trusted=context.trusted,
        decisions_topic=topics.names.decisions,
        agreements_topic=topics.names.agreements,
    )


@dataclass(slots=True)
class _Snapshot:
    """The topics as last read, parsed; read again when older than ``refresh_s``."""

    settings: Settings
    context: _Context
    refresh_s: float
    sources: Sources | None = None
    read_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self) -> Sources:
        async with self.lock:
            if self.sources is None or time.monotonic() - self.read_at > self.refresh_s:
                inputs = await _read_inputs(self.settings, self.context)
                self.sources = sources_of(inputs, datetime.now(UTC))
                self.read_at = time.monotonic()
            return self.sources


SNAPSHOT = web.AppKey("snapshot", _Snapshot)


def _period(query: web.Request) -> tuple[Period, Chooser]:
    start, end = query.query.get("from", ""), query.query.get("to", "")
    if start or end:
        return Period.parse(start, end), Chooser("", start, end)
    preset = query.query.get("period", DEFAULT_PRESET)
    return Period.preset(preset, datetime.now(UTC).date()), Chooser(preset)


async def _board(request: web.Request) -> tuple[Board, Chooser]:
    try:
        period, chooser = _period(request)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    try:
        sources = await request.app[SNAPSHOT].get()
    except HubError as exc:
        raise web.HTTPServiceUnavailable(text=f"cannot read the hub's topics: {exc}") from exc
    return build_board(sources, period, datetime.now(UTC)), chooser


async def page(request: web.Request) -> web.Response:
    """The dashboard for the period asked for (``?period=30d`` or ``?from=&to=``)."""
    board, chooser = await _board(request)
    return web.Response(
        text=render(board, chooser=chooser), content_type="text/html", headers=_HEADERS
    )


async def board_json(request: web.Request) -> web.Response:
    """The same aggregates as JSON (suppressed, like the page)."""
    board, _ = await _board(request)
    return web.json_response(board.to_json(), headers=_HEADERS)


async def library(_request: web.Request) -> web.Response:
    """plotly.min.js from the plotly package: the browser never needs a network."""
    return web.Response(
        text=plotly_js(),
        content_type="application/javascript",
        headers={"Cache-Control": "max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


def dashboard_app(snapshot: _Snapshot) -> web.Application:
    """The read-only web application: GET routes only."""
    app = web.Application()
    app[SNAPSHOT] = snapshot
    app.router.add_get("/", page)
    app.router.add_get("/board.json", board_json)
    app.router.add_get("/plotly.min.js", library)
    return app


def dashboard(
    host: Annotated[str, typer.Option(help="address to bind; loopback by default")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port; 0 picks a free one")] = 8765,
    refresh: Annotated[
        float, typer.Option(help="re-read the topics after this many seconds")
    ] = 10.0,
    hub_keys: HubKeysOption = None,
) -> None:
    """Serve the board dashboard (read-only) from the topics of HUB_BROKER_URL."""
    settings = load_settings()
    if not _loopback(host):
        typer.echo(
            f"warning: serving on {host}: anyone who can reach it can read the board", err=True
        )
    snapshot = _Snapshot(settings, _context(settings, hub_keys), refresh)
    asyncio.run(_serve(dashboard_app(snapshot), host, port))


async def _serve(app: web.Application, host: str, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        typer.echo(f"dashboard on http://{bound[0]}:{bound[1]}/ (read-only); Ctrl-C stops it")
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = ["dashboard", "dashboard_app", "report"]
