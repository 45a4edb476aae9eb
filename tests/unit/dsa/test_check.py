"""`hub dsa check`: the shipped set passes; each broken agreement yields its one message."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from hub.cli.dsa import app, schema_catalog
from hub.dsa import AgreementBook, check_directory, load_directory
from hub.dsa.loader import load_agreement, parse_agreement
from hub.errors import AgreementError
from tests.unit.dsa.builders import (
    BROKEN,
    CATALOG,
    NOW,
    SHIPPED,
    TODAY,
    agreement_dict,
    registry,
)

runner = CliRunner()

EXPECTED = {
    "bad-purpose.yaml": ("parse_error", "purposes.0", "Input should be"),
    "bad-yaml.yaml": ("parse_error", "line 4, column 8", "YAML: expected ','"),
    "consent-without-purpose.yaml": (
        "consent_without_purpose",
        "data_items.0.consent_required",
        "needs a consent_purpose",
    ),
    "contradiction-b.yaml": ("contradiction", "data_items", "contradicts broken-contradiction-a@1"),
    "criminal-offence-without-article-10.yaml": (
        "missing_article_10",
        "providers.0.lawful_basis.article_10",
        "without an Art. 10 basis",
    ),
    "dates-out-of-order.yaml": ("dates_out_of_order", "effective_to", "is before effective_from"),
    "review-overdue.yaml": ("review_overdue", "review_date", "review was due on 2026-06-30"),
    "sensitivity-mismatch.yaml": (
        "sensitivity_mismatch",
        "data_items.0.fields.0.sensitivity",
        "is special_category in the schema",
    ),
    "special-category-without-article-9.yaml": (
        "missing_article_9",
        "providers.0.lawful_basis.article_9",
        "without an Art. 9 condition",
    ),
    "unknown-event-type.yaml": (
        "unknown_event_type",
        "data_items.0.event_type",
        "police.jaywalking",
    ),
    "unknown-field.yaml": ("unknown_field", "data_items.0.fields.0.name", "no field 'shoe_size'"),
    "unknown-party.yaml": ("unknown_party", "recipients.0.party", "unknown partnership 'narnia'"),
}


def _schemas() -> object:
    catalog = schema_catalog(Path("schemas"))
    if catalog is None:
        pytest.skip("hub.codec or schemas/ not available")
    return catalog


def test_shipped_set_passes_against_the_real_schemas() -> None:
    report = check_directory(SHIPPED, registry(), _schemas(), TODAY)  # type: ignore[arg-type]  # _schemas returns a Catalog or skips
    assert report.ok, [str(f) for f in report.errors]
    assert report.agreements >= 10
    assert {f.code for f in report.findings} <= {"awaiting_signoff"}


def test_shipped_set_covers_every_agency_and_partnership() -> None:
    parties = registry()
    agreements = [a for _, a in load_directory(SHIPPED).agreements]
    providers = {p for a in agreements for p in a.provider_ids}
    recipients = {r for a in agreements for r in a.recipient_ids}
    assert providers == {a.id for a in parties.agencies}
    assert recipients == {p.id for p in parties.partnerships}


def test_every_broken_file_gives_exactly_its_expected_finding() -> None:
    report = check_directory(BROKEN, registry(), _schemas(), TODAY)  # type: ignore[arg-type]  # as above
    assert not report.ok
    by_file: dict[str, list[tuple[str, str, str]]] = {}
    for finding in report.findings:
        by_file.setdefault(Path(finding.file).name, []).append(
            (finding.code, finding.path, finding.message)
        )
    assert set(by_file) == set(EXPECTED)
    for name, (code, path, text) in EXPECTED.items():
        assert len(by_file[name]) == 1, (name, by_file[name])
        got_code, got_path, got_message = by_file[name][0]
        assert (got_code, got_path) == (code, path), name
        assert text in got_message, (name, got_message)


def test_review_overdue_is_only_a_warning(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(agreement_dict(review_date="2026-06-30")))
    report = check_directory(tmp_path, registry(), CATALOG, TODAY)
    assert report.ok
    assert [f.code for f in report.findings] == ["review_overdue"]


def test_the_shipped_set_still_checks_and_flows_years_from_now() -> None:
    """As the years pass, overdue reviews are warnings and the current agreements stay in force."""
    later = date(TODAY.year + 15, 1, 1)
    report = check_directory(SHIPPED, registry(), _schemas(), later)  # type: ignore[arg-type]  # as above
    assert report.ok, [str(f) for f in report.errors]
    assert {f.code for f in report.findings} == {"review_overdue", "awaiting_signoff"}
    book = AgreementBook.from_agreements(a for _, a in load_directory(SHIPPED).agreements)
    then = {a.id for a in book.in_force(datetime.combine(later, time(12), tzinfo=UTC))}
    assert then == {a.id for a in book.in_force(NOW)}


def test_fields_are_checked_with_a_plain_catalog(tmp_path: Path) -> None:
    doc = agreement_dict()
    doc["data_items"][0]["fields"].append({"name": "shoe_size"})
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(doc))
    report = check_directory(tmp_path, registry(), CATALOG, TODAY)
    assert [f.code for f in report.errors] == ["unknown_field"]
    assert check_directory(tmp_path, registry(), None, TODAY).ok


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"providers": [{"party": "hogwarts"}]}, "unknown_party"),
        ({"data_items": [{"event_type": "education.suspension"}]}, "event_type_not_provided"),
        (
            {"change_history": [{"version": 2, "changed_on": "2025-11-01", "summary": "x"}]},
            "change_history_mismatch",
        ),
        ({"review_date": "2025-06-01"}, "dates_out_of_order"),
        (
            {"prohibitions": [{"id": "p", "description": "x", "recipients": ["slough"]}]},
            "unknown_party",
        ),
    ],
)
def test_coherence_defects(tmp_path: Path, change: dict[str, object], code: str) -> None:
    doc = agreement_dict()
    if "providers" in change:
        doc["providers"][0]["party"] = "hogwarts"
    else:
        doc.update(change)
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(doc))
    report = check_directory(tmp_path, registry(), CATALOG, TODAY)
    assert code in {f.code for f in report.errors}


def test_consent_flow_needs_a_consent_basis(tmp_path: Path) -> None:
    doc = agreement_dict(purposes=["early_intervention"], consent_purpose="early_intervention")
    doc["data_items"][0]["consent_required"] = True
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(doc))
    codes = [f.code for f in check_directory(tmp_path, registry(), CATALOG, TODAY).errors]
    assert codes == ["consent_without_basis"]


def test_prohibition_against_a_flow_another_agreement_permits_is_a_contradiction(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(agreement_dict()))
    rule = {"id": "none", "description": "x", "event_types": ["police.violent_incident"]}
    other = agreement_dict(
        id="b", data_items=[{"event_type": "police.arrest"}], prohibitions=[rule]
    )
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(other))
    codes = [f.code for f in check_directory(tmp_path, registry(), CATALOG, TODAY).errors]
    assert codes == ["contradiction"]


def test_versions_of_one_agreement_do_not_contradict(tmp_path: Path) -> None:
    (tmp_path / "v1.yaml").write_text(yaml.safe_dump(agreement_dict()))
    history = [
        {"version": 1, "changed_on": "2025-11-01", "summary": "first"},
        {"version": 2, "changed_on": "2025-12-01", "summary": "fewer fields"},
    ]
    v2 = agreement_dict(version=2, change_history=history)
    v2["data_items"][0]["fields"] = [{"name": "location_type"}]
    (tmp_path / "v2.yaml").write_text(yaml.safe_dump(v2))
    assert check_directory(tmp_path, registry(), CATALOG, TODAY).ok


def test_parse_errors_name_file_path_and_problem(tmp_path: Path) -> None:
    doc = agreement_dict()
    doc["data_items"][0]["fields"][0]["sensitivity"] = "secret"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(AgreementError) as caught:
        load_agreement(path)
    message = str(caught.value)
    assert str(path) in message
    assert "data_items.0.fields.0.sensitivity" in message
    assert "Input should be" in message
    with pytest.raises(AgreementError, match="expected a mapping"):
        parse_agreement("- just a list", "inline")


def test_cli_check_passes_on_the_shipped_set() -> None:
    result = runner.invoke(app, ["check", str(SHIPPED), "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "OK:" in result.output


def test_cli_check_fails_on_broken_agreements_with_json() -> None:
    result = runner.invoke(app, ["check", str(BROKEN), "--json", "--today", TODAY.isoformat()])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert len(report["findings"]) == len(EXPECTED)
    assert {f["code"] for f in report["findings"]} >= {"unknown_party", "contradiction"}


def test_cli_check_human_output_names_file_and_path() -> None:
    result = runner.invoke(app, ["check", str(BROKEN), "--today", TODAY.isoformat()])
    assert result.exit_code == 1
    assert "unknown-party.yaml: recipients.0.party: unknown partnership 'narnia'" in result.output
    assert result.output.strip().endswith("11 errors, 1 warnings")
