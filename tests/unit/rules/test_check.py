"""`hub rules check`: the shipped rules pass; each broken file yields exactly its one finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli.rules import app
from hub.codec import SchemaStore
from hub.errors import RuleError
from hub.registry import load_registry
from hub.rules import RuleSet, catalog_from_store, check_rules, load_rules, parse_rule

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "deploy" / "rules"
BROKEN = ROOT / "tests" / "data" / "rules_broken"
CATALOG = catalog_from_store(SchemaStore.load(ROOT / "schemas"))
REGISTRY = load_registry(ROOT / "deploy" / "registry.yaml")
runner = CliRunner()

EXPECTED = {
    "agencies-above-events.yaml": ("incoherent", "conditions.min_agencies", "2 agencies need"),
    "bad-condition.yaml": ("parse_error", "events.0.where.0", "expected '<field> <operator>"),
    "bad-severity.yaml": ("parse_error", "severity", "'low', 'medium' or 'high'"),
    "bad-yaml.yaml": ("parse_error", "line 4, column 1", "YAML: expected ','"),
    "duplicate-id-b.yaml": ("duplicate_id", "id", "also defined in"),
    "ed-assault.yaml": ("area_level_type", "events.1.type", "health.ed_assault is area-level"),
    "escalation-not-higher.yaml": ("escalation", "escalation.0.severity", "does not raise"),
    "no-explanation.yaml": ("parse_error", "explanation", "Field required"),
    "ordering-on-enum.yaml": ("unsupported_field", "events.0.where.0", "'>=' cannot test"),
    "sequence-too-long.yaml": ("incoherent", "conditions.sequence.0.within_days", "45 days"),
    "unknown-event-type.yaml": ("unknown_event_type", "events.2.type", "education.detention"),
    "unknown-field.yaml": ("unknown_field", "events.0.where.0", "no field 'shoe_size'"),
    "unknown-label.yaml": ("unknown_label", "conditions.require.1", "label 'expulsion'"),
    "unknown-symbol.yaml": ("unknown_symbol", "events.0.where.0", "no symbol 'CATAPULT'"),
    "unsatisfiable.yaml": ("unsatisfiable", "conditions.min_agencies", "only 2 publish"),
    "zero-window.yaml": ("parse_error", "window_days", "greater than 0"),
}


def test_shipped_rules_pass_against_schemas_and_registry() -> None:
    report = check_rules(SHIPPED, CATALOG, REGISTRY)
    assert report.ok, [str(f) for f in report.findings]
    assert report.rules >= 4
    assert len(RuleSet.load(SHIPPED, CATALOG)) == report.rules


def test_every_broken_file_gives_exactly_its_expected_finding() -> None:
    report = check_rules(BROKEN, CATALOG, REGISTRY)
    by_file: dict[str, list[tuple[str, str, str]]] = {}
    for finding in report.findings:
        by_file.setdefault(Path(finding.file).name, []).append(
            (finding.code, finding.path, finding.message)
        )
    assert set(by_file) == set(EXPECTED)
    for name, (code, path, fragment) in EXPECTED.items():
        [(got_code, got_path, message)] = by_file[name]
        assert (got_code, got_path) == (code, path), name
        assert fragment in message, name
    # every fixture but the first of the duplicate pair is broken on purpose
    assert {p.name for p in BROKEN.glob("*.yaml")} == {*EXPECTED, "duplicate-id-a.yaml"}


def test_cli_check_exit_codes_and_json() -> None:
    ok = runner.invoke(app, ["check", str(SHIPPED), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output) == {
        "ok": True,
        "rules": 6,
        "findings": [],
        "area_rules": 1,
        "area_findings": [],
    }
    bad = runner.invoke(app, ["check", str(BROKEN), "--json"])
    assert bad.exit_code == 1
    assert {Path(f["file"]).name for f in json.loads(bad.output)["findings"]} == set(EXPECTED)
    text = runner.invoke(app, ["check", str(BROKEN)])
    assert text.output.strip().endswith(f"FAILED: 12 rules, {len(EXPECTED)} errors")


def test_cli_reports_a_missing_directory_as_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "not a directory" in result.output


def test_rule_set_refuses_a_directory_with_any_finding() -> None:
    with pytest.raises(RuleError, match="rule problems"):
        RuleSet.load(BROKEN, CATALOG)


def test_parse_rule_names_every_problem_with_its_path() -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule("id: Bad Id\nversion: 0\n", "inline.yaml")
    message = str(caught.value)
    for path in ("inline.yaml: id", "version", "title", "explanation", "events"):
        assert path in message


def test_shipped_rules_keep_area_level_types_out() -> None:
    types = {c.type for _, r in load_rules(SHIPPED).rules for c in r.events}
    assert "health.ed_assault" not in types
    assert all(CATALOG[t].has_subject for t in types)
