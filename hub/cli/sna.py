"""``hub sna``: strategic needs assessment releases (export, verify).

``export`` reads the counts the workers keep in the stream (the ``sna-counts`` changelog, read
to its end, every value authenticated: ``hub.sna.changelog``), takes those of the period below
the cut-off they cover, protects the figures, signs the release with the hub's key, and
records it in the decision ledger (one hub-signed record on the decisions topic, naming the
cut-off per accepted partition), so ``hub audit replay`` counts again from the accepted topic
and must find the same figures.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.audit import History
from hub.audit.history import StreamTrust
from hub.cli.audit import HubKeysOption, opened_decisions
from hub.cli.audit_topics import load_topics
from hub.codec import SchemaStore
from hub.config import Settings, load_settings
from hub.crypto import Keyring, VerifyKey
from hub.crypto.bundle import load_trusted_keys
from hub.crypto.record import Kind, Place
from hub.crypto.trust import RecordVerifier, seal_record
from hub.errors import HubError
from hub.registry import Registry
from hub.runtime import load_registry_from
from hub.sna import (
    Period,
    Query,
    Release,
    build_release,
    guard_differencing,
    verify_release,
)
from hub.sna.changelog import read_counts
from hub.sna.report import SUPPRESSED, render_report
from hub.transport import kafka_endpoint
from hub.transport.kafka import KafkaTransport

app = typer.Typer(help="strategic needs assessment releases", no_args_is_help=True)
FORMATS = ("csv", "json", "html")
EXIT_REFUSED = 1
EXIT_UNREADABLE = 2


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter("not an ISO 8601 date (YYYY-MM-DD)", param_hint=option) from exc


async def record_release(settings: Settings, keyring: Keyring, record: Mapping[str, Any]) -> None:
    """The release's ledger record, hub-signed, onto the decisions topic (as the agent does)."""
    item = json.dumps(record).encode()
    place = Place(settings.decisions_topic, 0)
    value = seal_record(
        Kind.DECISIONS, datetime.now(UTC), (item,), place, keyring.signing_key("hub")
    )
    async with KafkaTransport(kafka_endpoint(settings)) as transport:
        await transport.send(settings.decisions_topic, value, key=b"decisions", partition=0)


def csv_text(document: Mapping[str, Any]) -> str:
    """The release's figures in long form: table, row, column, figure (``[c]``: suppressed)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["release_id", "table", "row", "column", "figure"])
    release_id = document["release_id"]
    for name, table in sorted(document["figures"]["tables"].items()):
        for row, figures, row_total in zip(
            table["rows"], table["cells"], table["row_totals"], strict=True
        ):
            for column, figure in zip(table["columns"], figures, strict=True):
                writer.writerow([release_id, name, row, column, _csv(figure)])
            writer.writerow([release_id, name, row, "total", _csv(row_total)])
        for column, figure in zip(table["columns"], table["column_totals"], strict=True):
            writer.writerow([release_id, name, "total", column, _csv(figure)])
        writer.writerow([release_id, name, "total", "total", _csv(table["total"])])
    return out.getvalue()


def _csv(figure: int | None) -> str:
    return SUPPRESSED if figure is None else str(figure)


def write_release(
    release: Release, out: Path, fmt: str, names: Mapping[str, str] | None = None
) -> list[Path]:
    """The signed JSON document, and the CSV or HTML rendering asked for, next to it
    (``names``: labels of area codes for the report)."""
    document = release.document
    signed = out if fmt == "json" else out.with_suffix(".release.json")
    signed.write_text(json.dumps(document, indent=1, sort_keys=True), encoding="utf-8")
    written = [signed]
    if fmt == "csv":
        out.write_text(csv_text(document), encoding="utf-8")
        written.append(out)
    elif fmt == "html":
        out.write_text(render_report(document, names), encoding="utf-8")
        written.append(out)
    return written


def make_release(settings: Settings, query: tuple[Period, str], keyring: Keyring) -> Release:
    """Read the stream's counts and the agreements, guard against differencing, and build
    the signed release."""
    period, by = query
    trusted = load_trusted_keys(settings.keys_dir)
    topics = load_topics(settings, None)
    verifier = RecordVerifier(trusted)
    trust = StreamTrust(verifier, topics.names.agreements, topics.names.accepted)
    history = History(SchemaStore.load(settings.schemas_dir), topics.agreements, trust)
    read = asyncio.run(read_counts(settings, verifier.internal_key))
    if read.refused:
        typer.echo(f"hub sna export: {read.refused} count record(s) refused", err=True)
    asked = Query(period, by, read.snapshot.cutoff())
    earlier = [json.loads(v) for v in opened_decisions(topics, trusted).entries]
    guard_differencing(asked, earlier)
    counted = read.snapshot.counted(period, dict(asked.cutoff))
    return build_release(
        counted, asked, history.book, (keyring.signing_key("hub"), datetime.now(UTC))
    )


@app.command()
def export(  # typer maps each keyword-only parameter to one option
    *,
    start: Annotated[str, typer.Option("--from", help="first day of the period (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option("--to", help="last day of the period (YYYY-MM-DD)")],
    by: Annotated[str, typer.Option("--by", help="area level: council or lsoa")] = "council",
    fmt: Annotated[str, typer.Option("--format", help="csv, json or html")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="file to write")] = None,
) -> None:
    """Release counts for a strategic needs assessment, protected, signed and recorded.

    Prints a one-line JSON summary. Exits 1 when the agreements or earlier releases forbid
    the release (it names why), 2 when the topics or keys cannot be read.
    """
    if fmt not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="--format")
    settings = load_settings()
    period = Period(_day(start, "--from"), _day(end, "--to"))
    try:
        keyring = Keyring.open(settings.keys_dir)
        release = make_release(settings, (period, by), keyring)
        asyncio.run(record_release(settings, keyring, release.record))
    except HubError as exc:
        typer.echo(f"hub sna export: {exc} ({exc.reason})", err=True)
        code = (
            EXIT_REFUSED
            if exc.reason in {"differencing_risk", "area_too_fine", "unknown_level"}
            else EXIT_UNREADABLE
        )
        raise typer.Exit(code=code) from exc
    target = out or Path(f"sna-{release.release_id[:12]}.{fmt}")
    written = write_release(release, target, fmt, council_names(load_registry_from(settings)))
    typer.echo(json.dumps(summary(release) | {"files": [str(p) for p in written]}))


def council_names(registry: Registry) -> dict[str, str]:
    """Each council code's partnership name, to label a report."""
    return {c: p.name for p in registry.partnerships for c in p.councils}


def summary(release: Release) -> dict[str, Any]:
    """The headline of a release: id, counted, suppressed, the area table's grand total."""
    tables = release.figures["tables"]
    return {
        "release_id": release.release_id,
        "ledger_id": release.record["decision_id"],
        "counted": release.record["counted"],
        "total_shown": tables["area"]["total"],
        "areas": len(tables["area"]["rows"]),
        "suppressed": sum(int(t["suppressed"]) for t in tables.values()),
        "excluded": release.record["excluded"],
    }


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="a release's signed JSON document")],
    hub_keys: HubKeysOption = None,
) -> None:
    """Check a release's figures against its hub signature (offline, public keys suffice).

    Exits 0 printing the release id, 1 when the figures or the signature do not verify.
    """
    settings = load_settings()
    try:
        trusted = load_trusted_keys(hub_keys or settings.keys_dir)
        keys: list[VerifyKey] = [k for k, _ in trusted.hub.values()]
        document = json.loads(file.read_text(encoding="utf-8"))
        release_id = verify_release(document, keys)
    except (HubError, OSError, ValueError) as exc:
        typer.echo(f"hub sna verify: {exc}", err=True)
        raise typer.Exit(code=EXIT_REFUSED) from exc
    typer.echo(json.dumps({"ok": True, "release_id": release_id, "ledger_id": f"sna:{release_id}"}))
