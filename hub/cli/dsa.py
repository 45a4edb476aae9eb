"""``hub dsa``: check, explain and export data-sharing agreements."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.dsa import (
    AgreementBook,
    Catalog,
    CheckReport,
    ConsentBook,
    ConsentGrant,
    Decision,
    Evaluator,
    EventFacts,
    Purpose,
    check_directory,
    facts_from_record,
    load_directory,
    to_odrl,
)
from hub.errors import HubError
from hub.geo import AreaLookup
from hub.registry import Registry, load_registry

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

AgreementsDir = Annotated[Path, typer.Option("--agreements", help="directory of agreement YAML")]
RegistryFile = Annotated[Path, typer.Option("--registry", help="the registry of parties")]
DEFAULT_AGREEMENTS = Path("deploy/agreements")
DEFAULT_REGISTRY = Path("deploy/registry.yaml")


def _registry(path: Path) -> Registry:
    try:
        return load_registry(path)
    except HubError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def schema_catalog(schemas: Path) -> Catalog | None:
    """Type-specific fields of every event type, from the codec's schema store, if present."""
    try:
        from hub.codec import SchemaStore  # noqa: PLC0415  # the check still runs without schemas
    except ImportError:
        return None
    if not schemas.is_dir():
        return None
    try:
        store = SchemaStore.load(schemas)
    except HubError:
        return None
    return {
        t: {n: f for n, f in store.fields(t).items() if not n.startswith("envelope.")}
        for t in store.event_types
    }


@app.command()
def check(
    directory: Annotated[Path, typer.Argument(help="agreements directory")] = DEFAULT_AGREEMENTS,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    registry: RegistryFile = DEFAULT_REGISTRY,
    schemas: Annotated[Path, typer.Option(help="Avro schemas, to check fields")] = Path("schemas"),
    today: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default today (UTC)")] = None,
) -> None:
    """Exit 0 only when every agreement parses and is coherent."""
    catalog = schema_catalog(schemas)
    day = date.fromisoformat(today) if today else datetime.now(UTC).date()
    try:
        report = check_directory(directory, _registry(registry), catalog, day)
    except HubError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(_report_json(report, catalog is not None), indent=2))
    else:
        _print_report(report, catalog is not None)
    raise typer.Exit(0 if report.ok else 1)


def _report_json(report: CheckReport, fields_checked: bool) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "agreements": report.agreements,
        "fields_checked": fields_checked,
        "findings": [f.model_dump() for f in report.findings],
    }


def _print_report(report: CheckReport, fields_checked: bool) -> None:
    for finding in report.findings:
        typer.echo(str(finding))
    if not fields_checked:
        typer.echo("note: no schema catalog found; fields were not checked against schemas")
    errors = len(report.errors)
    warnings = len(report.findings) - errors
    verdict = "OK" if report.ok else "FAILED"
    typer.echo(f"{verdict}: {report.agreements} agreements, {errors} errors, {warnings} warnings")


@app.command()
def explain(  # typer maps each keyword-only parameter to one option
    *,
    event: Annotated[Path, typer.Option("--event", help="JSON of a decoded event record")],
    recipient: Annotated[str, typer.Option("--recipient", help="partnership id")],
    agreements: AgreementsDir = DEFAULT_AGREEMENTS,
    at: Annotated[str | None, typer.Option("--at", help="ISO 8601 time; default now")] = None,
    purpose: Annotated[Purpose, typer.Option()] = Purpose.SERIOUS_VIOLENCE_PREVENTION,
    consent: Annotated[Path | None, typer.Option(help="JSON list of consent grants")] = None,
    council: Annotated[str | None, typer.Option(help="ONS council code; default from LSOA")] = None,
    registry: RegistryFile = DEFAULT_REGISTRY,
    data_dir: Annotated[Path, typer.Option(help="holds geo/*.csv")] = Path("../shared/data"),
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Print the decision for one event and one recipient, clause by clause."""
    parties = _registry(registry)
    try:
        record = json.loads(event.read_text(encoding="utf-8"))
        facts = facts_from_record(record, council or _council_of(record, data_dir))
        moment = _moment(at)
        book = AgreementBook.from_agreements(a for _, a in load_directory(agreements).agreements)
        grants = _grants(consent)
    except (OSError, ValueError, HubError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    decision = Evaluator(book, parties).decide(facts, recipient, moment, grants, purpose)
    if as_json:
        typer.echo(decision.model_dump_json(indent=2))
    else:
        _print_decision(facts, decision)


def _moment(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(at)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _council_of(record: dict[str, Any], data_dir: Path) -> str | None:
    lsoa = (record.get("envelope") or {}).get("lsoa")
    if not isinstance(lsoa, str):
        return None
    return AreaLookup.from_data_dir(data_dir).council(lsoa)


def _grants(path: Path | None) -> ConsentBook:
    if path is None:
        return ConsentBook()
    raw = json.loads(path.read_text(encoding="utf-8"))
    return ConsentBook(ConsentGrant.model_validate(g) for g in raw)


_MARKS = {"met": "ok  ", "failed": "FAIL", "removes_fields": "drop", "prohibits": "DENY"}


def _print_decision(facts: EventFacts, decision: Decision) -> None:
    typer.echo(
        f"event {facts.event_id} ({facts.event_type} from {facts.agency_id}, "
        f"area {facts.council}) -> {decision.recipient} for {decision.purpose} "
        f"at {decision.at.isoformat()}"
    )
    for clause in decision.clauses:
        mark = _MARKS[clause.effect]
        typer.echo(f"  [{mark}] {clause.agreement:28} {clause.clause:42} {clause.detail}")
    if decision.permitted:
        typer.echo(
            f"PERMIT under {decision.agreement_id} v{decision.agreement_version}"
            f" ({decision.level} level)"
        )
        typer.echo(f"  disclosed fields: {', '.join(decision.fields)}")
        if decision.consent_id:
            typer.echo(f"  consent: {decision.consent_id}")
    else:
        typer.echo(f"DENY: {', '.join(str(r) for r in decision.reasons)}")


@app.command()
def export(
    output_format: Annotated[str, typer.Option("--format", help="only 'odrl'")] = "odrl",
    out: Annotated[Path | None, typer.Option(help="write one .jsonld per agreement here")] = None,
    agreements: AgreementsDir = DEFAULT_AGREEMENTS,
    registry: RegistryFile = DEFAULT_REGISTRY,
) -> None:
    """Write each agreement version as a W3C ODRL 2.2 JSON-LD policy."""
    if output_format != "odrl":
        typer.echo(f"error: unknown format {output_format!r}; only 'odrl'", err=True)
        raise typer.Exit(2)
    parties = _registry(registry)
    try:
        loaded = load_directory(agreements)
    except HubError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    policies = [to_odrl(a, parties) for _, a in loaded.agreements]
    if out is None:
        typer.echo(json.dumps(policies, indent=2, sort_keys=True))
        return
    out.mkdir(parents=True, exist_ok=True)
    for (_, agreement), policy in zip(loaded.agreements, policies, strict=True):
        target = out / f"{agreement.id}.v{agreement.version}.odrl.jsonld"
        target.write_text(json.dumps(policy, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        typer.echo(f"wrote {target}")


@app.command()
def publish(
    agreements: AgreementsDir = DEFAULT_AGREEMENTS,
) -> None:
    """Publish new agreement versions to the agreements topic and switch every worker to them.

    Versions already on the topic are skipped. After publishing, a switch marker goes into every
    partition of the accepted-event topic, so each worker changes version at the same point of
    the stream (docs/agreements.md).
    """
    import asyncio  # noqa: PLC0415  # only this command talks to the broker

    from hub.config import load_settings  # noqa: PLC0415
    from hub.crypto import Keyring  # noqa: PLC0415
    from hub.governance import Governance  # noqa: PLC0415
    from hub.transport import kafka_endpoint  # noqa: PLC0415
    from hub.transport.agreements import publish_agreements  # noqa: PLC0415

    settings = load_settings()
    try:
        report = check_directory(
            agreements,
            _registry(settings.deploy_dir / "registry.yaml"),
            schema_catalog(settings.schemas_dir),
            datetime.now(UTC).date(),
        )
        if not report.ok:
            _print_report(report, fields_checked=True)
            typer.echo("error: refusing to publish agreements that fail `hub dsa check`", err=True)
            raise typer.Exit(1)
        loaded = load_directory(agreements)
        refs, sequence = asyncio.run(
            publish_agreements(
                kafka_endpoint(settings),
                settings.agreements_topic,
                settings.accepted_topic,
                [a for _, a in loaded.agreements],
                datetime.now(UTC),
                governance=Governance.from_keyring(Keyring.open(settings.keys_dir)),
            )
        )
    except HubError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"published {len(refs)} new versions ({', '.join(refs) or 'none'}); switch at {sequence}"
    )
