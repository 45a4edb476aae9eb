"""``hub audit report`` on an exported ledger: the HTML file, the JSON, and a tampered ledger."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hub.cli.board import report
from hub.crypto import HUB as HUB_OWNER
from hub.crypto import KeyKind
from hub.partnership.keys import BUNDLE_FORMAT
from tests.unit.audit.builders import HUB, OTHER_HUB, publish, signed, write_export
from tests.unit.board.builders import EDUCATION, POLICE, entry

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()
app = typer.Typer()
app.command()(report)


@pytest.fixture
def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    values = [entry(n, "reading", [(f"p{n}", *POLICE)]) for n in range(6)]
    values.append(entry(6, "reading", [("s1", *EDUCATION)]))
    heads = publish(values, [4, 7])
    folder = tmp_path / "export"
    write_export(folder, signed(values), heads)
    bundle = tmp_path / "hub.json"
    public = base64.b64encode(HUB.verify_key.raw).decode()
    bundle.write_text(
        json.dumps(
            {
                "format": BUNDLE_FORMAT,
                "keys": [{"owner": HUB_OWNER, "kind": KeyKind.SIGNING.value, "public": public}],
            }
        )
    )
    monkeypatch.setenv("HUB_DEPLOY_DIR", str(ROOT / "deploy"))
    return folder, bundle


def test_the_report_is_written_and_its_json_is_suppressed(
    export: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, bundle = export
    out = tmp_path / "report.html"
    args = ["--out", str(out), "--json", "--from-dir", str(folder), "--hub-keys", str(bundle)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{") :])
    assert data["flows"]["rows"] == ["education", "police"]
    assert data["flows"]["cells"] == [[{"text": "<5", "value": None}], [{"text": "6", "value": 6}]]
    assert data["verification"]["outcome"] == "verified"
    assert data["verification"]["entries"] == 7
    assert data["quarantine"] is None
    html = out.read_text()
    assert "verified" in html
    assert "Plotly.newPlot" in html


def test_a_tampered_ledger_is_reported_and_exits_one(
    export: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, bundle = export
    values = [entry(n, "reading", [(f"p{n}", *POLICE)]) for n in range(6)]
    values.append(entry(6, "reading", [("s1", *EDUCATION)]))
    heads = publish(values, [4, 7])
    values[2] = values[2].replace(b'"reading"', b'"readinG"', 1)  # re-signed by the hub key
    write_export(folder, signed(values), heads)
    out = tmp_path / "report.html"
    args = ["--out", str(out), "--from-dir", str(folder), "--hub-keys", str(bundle)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "LedgerEntryError" in out.read_text()


def test_a_forged_decision_record_fails_the_report_and_is_not_counted(
    export: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, bundle = export
    values = [entry(n, "reading", [(f"p{n}", *POLICE)]) for n in range(6)]
    values.append(entry(6, "reading", [("s1", *EDUCATION)]))
    heads = publish(values, [4, 7])
    forged = entry(99, "reading", [("f1", *POLICE)])  # a plain JSON permit, no signature
    write_export(folder, [*signed(values), forged, *signed([forged], key=OTHER_HUB)], heads)
    out = tmp_path / "report.html"
    args = ["--out", str(out), "--json", "--from-dir", str(folder), "--hub-keys", str(bundle)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    data = json.loads(result.stdout[result.stdout.index("{") :])
    assert data["verification"]["outcome"] == "failed"
    assert "2 decisions-topic records not the hub's" in data["verification"]["detail"]
    assert data["flows"]["cells"] == [[{"text": "<5", "value": None}], [{"text": "6", "value": 6}]]


def test_a_malformed_period_is_a_usage_error(export: tuple[Path, Path]) -> None:
    folder, _ = export
    result = runner.invoke(app, ["--json", "--from", "yesterday", "--from-dir", str(folder)])
    assert result.exit_code == 2
    assert "not a date" in result.output
