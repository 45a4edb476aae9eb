"""The shipped contracts: every schema parses, versions chain compatibly, bad changes refused."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from hub.cli.schemas import app as schemas_app
from hub.codec import SchemaStore, load_catalogue
from hub.codec.compat import check_backward, incompatibilities
from hub.codec.evolution import check_tree
from hub.errors import IncompatibleSchemaError

SCHEMAS = Path("schemas")
INCIDENT = "police/violent_incident.v{}.avsc"
REGISTRY = Path("deploy/registry.yaml")


def cli() -> typer.Typer:
    """The sub-app mounted as ``hub schemas``, as the lead registers it."""
    root = typer.Typer()
    root.add_typer(schemas_app, name="schemas")
    return root


def copy_tree(tmp_path: Path) -> Path:
    target = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, target)
    return target


def add_version(root: Path, change: Any) -> Path:
    """Write police.violent_incident v3 = v2 with ``change`` applied to its JSON."""
    schema = json.loads((root / INCIDENT.format(2)).read_text())
    schema["version"] = 3
    change(schema)
    path = root / INCIDENT.format(3)
    path.write_text(json.dumps(schema))
    return path


def field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in schema["fields"] if f["name"] == name)


def test_shipped_tree_is_clean() -> None:
    assert check_tree(SCHEMAS) == []


def test_every_registry_event_type_has_a_contract() -> None:
    registry = yaml.safe_load(REGISTRY.read_text())
    types = {t for agency in registry["agencies"] for t in agency["event_types"]}
    assert SchemaStore.load(SCHEMAS).event_types == types


def test_each_version_reads_the_previous() -> None:
    files = load_catalogue(SCHEMAS)
    pairs = [(a, b) for a, b in itertools.pairwise(files) if a.event_type == b.event_type]
    assert pairs, "at least one type has two versions"
    for older, newer in pairs:
        check_backward(f"{newer.event_type} v{newer.version}", newer.schema, older.schema)


def test_cli_accepts_the_shipped_tree() -> None:
    result = CliRunner().invoke(cli(), ["schemas", "check", str(SCHEMAS)])
    assert result.exit_code == 0, result.output
    assert "compatible" in result.output


def test_field_added_without_default_is_refused(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    add_version(root, lambda s: s["fields"].append({"name": "knife_seized", "type": "boolean"}))
    result = CliRunner().invoke(cli(), ["schemas", "check", str(root)])
    assert result.exit_code == 1
    assert (
        "police.violent_incident v3 cannot read v2 data: "
        "knife_seized: field added without a default" in result.output
    )
    assert "v3 cannot read v1 data: knife_seized" in result.output


def test_field_added_with_default_is_accepted(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    add_version(
        root,
        lambda s: s["fields"].append({"name": "knife_seized", "type": "boolean", "default": False}),
    )
    assert check_tree(root) == []


def test_enum_symbol_removed_without_default_is_refused(tmp_path: Path) -> None:
    def drop_robbery(schema: dict[str, Any]) -> None:
        offence = field(schema, "offence")["type"]
        offence["symbols"].remove("ROBBERY")

    root = copy_tree(tmp_path)
    add_version(root, drop_robbery)
    assert check_tree(root) == [
        "police.violent_incident v3 cannot read v2 data: offence: enum symbols ['ROBBERY'] "
        "removed and the reader's enum has no default",
        "police.violent_incident v3 cannot read v1 data: offence: enum symbols ['ROBBERY'] "
        "removed and the reader's enum has no default",
    ]


def test_type_change_in_the_envelope_is_refused(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    envelope = json.loads((root / "envelope.v1.avsc").read_text())
    envelope["version"] = 2
    field(envelope, "age")["type"] = ["null", "string"]
    (root / "envelope.v2.avsc").write_text(json.dumps(envelope))
    add_version(root, lambda s: s.update(envelope_version=2))
    problems = check_tree(root)
    assert "police.violent_incident v3 cannot read v2 data: envelope.age: " in problems[0]
    assert "no branch of the reader's union reads int" in problems[0]


def test_int_to_long_promotion_is_accepted(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    schema = json.loads((root / "youth_justice/court_outcome.v1.avsc").read_text())
    schema["version"] = 2
    field(schema, "order_months")["type"] = ["null", "long"]
    (root / "youth_justice/court_outcome.v2.avsc").write_text(json.dumps(schema))
    assert check_tree(root) == []


def test_version_gap_is_refused(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    add_version(root, lambda s: None)
    (root / INCIDENT.format(3)).rename(root / INCIDENT.format(4))
    text = (root / INCIDENT.format(4)).read_text().replace('"version": 3', '"version": 4')
    (root / INCIDENT.format(4)).write_text(text)
    assert check_tree(root) == [
        "police.violent_incident: versions v1, v2, v4 are not consecutive from v1"
    ]


def test_subject_rule_change_is_refused(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    add_version(root, lambda s: s.update(subject="forbidden"))
    assert check_tree(root) == ["police.violent_incident v3: changes the subject rule"]


def test_unparsable_file_is_reported(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    (root / "police/arrest.v2.avsc").write_text("{not json")
    result = CliRunner().invoke(cli(), ["schemas", "check", str(root)])
    assert result.exit_code == 1
    assert "arrest.v2.avsc: cannot read schema" in result.output


def test_against_refuses_an_edited_published_version(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    path = root / INCIDENT.format(1)
    schema = json.loads(path.read_text())
    field(schema, "domestic")["default"] = False
    schema["fields"].append({"name": "note", "type": "string", "default": ""})
    path.write_text(json.dumps(schema))
    assert check_tree(root) == []
    result = CliRunner().invoke(cli(), ["schemas", "check", str(root), "--against", str(SCHEMAS)])
    assert result.exit_code == 1
    assert (
        "police.violent_incident v1: published schema was changed; publish the change as v3"
        in result.output
    )


def test_against_refuses_a_removed_version(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    (root / "police/arrest.v1.avsc").unlink()
    problems = check_tree(root, against=SCHEMAS)
    assert "police.arrest v1: published, but removed" in problems


def test_against_accepts_a_compatible_new_version(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    add_version(
        root, lambda s: s["fields"].append({"name": "n", "type": ["null", "int"], "default": None})
    )
    assert check_tree(root, against=SCHEMAS) == []


def test_documentation_formatting_does_not_change_a_fingerprint(tmp_path: Path) -> None:
    """Docs and indentation are outside the canonical form: editing them is not a new version."""
    root = copy_tree(tmp_path)
    path = root / INCIDENT.format(1)
    schema = json.loads(path.read_text())
    schema["doc"] = "Reworded."
    path.write_text(json.dumps(schema, indent=8))
    assert check_tree(root, against=SCHEMAS) == []


def test_check_backward_raises_with_label_field_and_reason() -> None:
    old = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
    new = {"type": "record", "name": "R", "fields": [{"name": "b", "type": "int"}]}
    with pytest.raises(IncompatibleSchemaError, match=r"^x v2: b: field added without a default$"):
        check_backward("x v2", new, old)
    assert incompatibilities(old, old) == []
