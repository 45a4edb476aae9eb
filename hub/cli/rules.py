"""``hub rules``: check correlation rules against the schemas and the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.codec import SchemaStore
from hub.errors import HubError
from hub.registry import Registry, load_registry
from hub.rules import RuleCatalog, RuleReport, catalog_from_store, check_rules
from hub.rules.area import AREA_DIR, check_area_rules

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

DEFAULT_RULES = Path("deploy/rules")


@app.callback()
def _rules() -> None:
    """Correlation rules: the patterns across agencies that raise a flag."""


@app.command()
def check(
    directory: Annotated[Path, typer.Argument(help="rules directory")] = DEFAULT_RULES,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    schemas: Annotated[Path, typer.Option(help="Avro schemas, to check types and fields")] = Path(
        "schemas"
    ),
    registry: Annotated[
        Path | None, typer.Option(help="registry, to check min_agencies; omit to skip")
    ] = Path("deploy/registry.yaml"),
) -> None:
    """Exit 0 only when every rule parses, is coherent and names real types and fields.

    Area rules (``DIRECTORY/area/``) are checked too: they parse, and count area-level event
    types only."""
    try:
        catalog = _catalog(schemas)
        parties = _registry(registry)
        report = check_rules(directory, catalog, parties)
        store = SchemaStore.load(schemas)
        area_types = frozenset(t for t in store.event_types if store.subject_rule(t) == "forbidden")
        area_problems = check_area_rules(directory, area_types)
        area_count = len(list((directory / AREA_DIR).glob("*.y*ml")))
    except HubError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    ok = report.ok and not area_problems
    if as_json:
        area = {"area_rules": area_count, "area_findings": area_problems}
        typer.echo(json.dumps(_report_json(report) | area | {"ok": ok}, indent=2))
    else:
        for finding in report.findings:
            typer.echo(str(finding))
        for problem in area_problems:
            typer.echo(f"error: {problem}")
        verdict = "OK" if ok else "FAILED"
        errors = len(report.findings) + len(area_problems)
        areas = f"{area_count} area rules, " if area_count else ""
        typer.echo(f"{verdict}: {report.rules} rules, {areas}{errors} errors")
    raise typer.Exit(0 if ok else 1)


def _catalog(schemas: Path) -> RuleCatalog:
    return catalog_from_store(SchemaStore.load(schemas))


def _registry(path: Path | None) -> Registry | None:
    return None if path is None or not path.exists() else load_registry(path)


def _report_json(report: RuleReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "rules": report.rules,
        "findings": [f.model_dump() for f in report.findings],
    }
