"""The ``hub`` command: run the broker, the worker and the demo; manage topics."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import structlog
import typer

from hub.broker import EmbeddedBroker
from hub.cli.lazy import lazy_group
from hub.config import Settings, load_settings
from hub.errors import HubError
from hub.log import configure_logging
from hub.runtime import load_registry_from
from hub.topics import kafka_topics_script, plan_topics
from hub.transport import bootstrap_servers, check_reachable, create_topics, kafka_endpoint
from hub.transport.lenient import tolerate_unreadable_batches

#: Every other command, imported only when it runs (``hub.cli.lazy``): ``hub worker`` and
#: ``hub audit verify`` start without the charts, the dashboard and the backtest.
COMMANDS = {
    "dashboard": "hub.cli.board:dashboard",
    "backtest": "hub.cli.backtest:backtest",
    "keys": "hub.cli.keys:app",
    "schemas": "hub.cli.schemas:app",
    "dsa": "hub.cli.dsa:app",
    "feed": "hub.cli.feed:app",
    "alerts": "hub.cli.alerts:app",
    "rules": "hub.cli.rules:app",
    "registry": "hub.cli.registry:app",
    "quarantine": "hub.cli.quarantine:app",
    "audit": "hub.cli.audit:app",
    "tls": "hub.cli.tls:app",
    "sna": "hub.cli.sna:app",
}

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help=__doc__,
    cls=lazy_group(COMMANDS, first=("dashboard", "backtest")),  # help lists them as before
)
topics_app = typer.Typer(no_args_is_help=True, help="The topics the hub uses.")
app.add_typer(topics_app, name="topics")
acls_app = typer.Typer(no_args_is_help=True, help="The least-privilege ACL plan (docs/deploy.md).")
app.add_typer(acls_app, name="acls")


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="loopback port; 0 picks a free one")] = 0,
) -> None:
    """Run the embedded broker (Tansu) in the foreground on loopback and print its address."""
    with EmbeddedBroker(port=port or None) as embedded:
        typer.echo(f"broker listening on {embedded.address} (pid {embedded.pid}); Ctrl-C stops it")
        typer.echo(f"export HUB_BROKER_URL={embedded.url}")
        _wait_for_signal()


def _wait_for_signal() -> None:
    stop = {"now": False}

    def _handler(_signum: int, _frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _handler)
    try:
        while not stop["now"]:
            time.sleep(0.2)
    except KeyboardInterrupt:
        return


@app.command()
def worker() -> None:
    """Run the hub's stream agents (a faust worker) against HUB_BROKER_URL."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    _check_broker(settings)
    # The worker is the one command that needs faust; hub/ never imports it at module level.
    import faust  # noqa: PLC0415

    from agents.app import create_app, worker_options  # noqa: PLC0415
    from agents.health import monitoring_service  # noqa: PLC0415

    faust_app = create_app(settings)
    # /metrics, /healthz and /readyz start before the app, so probes answer during recovery.
    monitor = monitoring_service(faust_app, settings)
    services = [monitor] if monitor is not None else []
    faust.Worker(faust_app, *services, **worker_options(settings)).execute_from_commandline()


def _check_broker(settings: Settings) -> None:
    """Exit at once with the cause when the broker refuses our TLS or SASL (retrying cannot
    help) or the settings are incomplete; a broker that is only down is left to faust's retries.
    """
    log = structlog.get_logger("hub.worker")
    try:
        endpoint = kafka_endpoint(settings)
        asyncio.run(check_reachable(endpoint))
    except HubError as exc:
        if exc.retriable:
            log.warning("broker_unreachable_at_start", error=type(exc).__name__, detail=str(exc))
            return
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    log.info("broker_reached", endpoint=endpoint.describe())


@topics_app.command("create")
def topics_create() -> None:
    """Create every topic the hub uses (partitions and replication from settings)."""
    settings = load_settings()
    specs = plan_topics(settings, load_registry_from(settings))
    try:
        created = asyncio.run(create_topics(kafka_endpoint(settings), specs))
    except HubError as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"{len(created)} created, {len(specs) - len(created)} already present")


@topics_app.command("list")
def topics_list(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List every topic the hub uses: partitions, retention and purpose (--json: every config)."""
    from hub.retention import describe  # noqa: PLC0415  # the worker needs no retention text

    settings = load_settings()
    specs = plan_topics(settings, load_registry_from(settings))
    if as_json:
        typer.echo(json.dumps([s.model_dump() for s in specs], indent=2))
        return
    for spec in specs:
        kept = describe(spec.config)
        typer.echo(f"{spec.name:40} {spec.partitions:>3}  {kept:<20} {spec.purpose}")


@topics_app.command("script")
def topics_script(
    out: Annotated[Path | None, typer.Option(help="write to this file instead of stdout")] = None,
) -> None:
    """Print a kafka-topics.sh script creating every topic (used by docker-compose)."""
    settings = load_settings()
    specs = plan_topics(settings, load_registry_from(settings))
    _write_script(kafka_topics_script(specs, bootstrap_servers(settings.broker_url)), out)


@acls_app.command("list")
def acls_list(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Every principal with its role and what it may read and write."""
    from hub.acls import plan_acls  # noqa: PLC0415  # the worker needs no ACL plan

    settings = load_settings()
    principals = plan_acls(settings, load_registry_from(settings))
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(p) for p in principals], indent=2))
        return
    for principal in principals:
        typer.echo(f"User:{principal.name}  ({principal.role})")
        for grant in principal.grants:
            typer.echo(f"    {grant.operation:<5} {grant.resource:<5} {', '.join(grant.names)}")


@acls_app.command("script")
def acls_script(
    out: Annotated[Path | None, typer.Option(help="write to this file instead of stdout")] = None,
) -> None:
    """Print a kafka-acls.sh script granting every principal its least privilege."""
    from hub.acls import kafka_acls_script, plan_acls  # noqa: PLC0415  # as in acls_list

    settings = load_settings()
    principals = plan_acls(settings, load_registry_from(settings))
    _write_script(kafka_acls_script(principals, bootstrap_servers(settings.broker_url)), out)


def _write_script(script: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(script)
    else:
        out.write_text(script, encoding="utf-8")
        out.chmod(0o755)


@app.command()
def demo(
    seconds: Annotated[float, typer.Option(help="stop after this many seconds")] = 60.0,
) -> None:
    """Start the broker and the hub, replay agency feeds, show each partnership's alerts."""
    from hub.demo import run_demo  # noqa: PLC0415  # keeps `hub --help` fast

    raise typer.Exit(run_demo(load_settings(), seconds))


def main() -> None:
    """Console-script entry point."""
    tolerate_unreadable_batches()  # no record may stop a reader (docs/threat-model.md)
    app()


if __name__ == "__main__":
    main()
