"""A replay report's digest (``ReplayReport.digest``): what two runs compare by."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from hub.audit.mismatch import Mismatch
from hub.audit.report import ReplayReport


def _report() -> ReplayReport:
    report = ReplayReport(entries=3, repeats=1, mismatched=1, validated=2)
    report.mismatches.append(Mismatch("d" * 32, "outcome", "permit", "deny"))
    report.explanations.append({"decision_id": "e" * 32, "outcome": "deny", "events": []})
    report.unexplained.append("f" * 32)
    return report


def _more_entries(report: ReplayReport) -> None:
    report.entries += 1


def _another_mismatch(report: ReplayReport) -> None:
    report.mismatches.append(Mismatch("a" * 32, "policy_sequence", 1, 2))


def _another_derived_value(report: ReplayReport) -> None:
    report.mismatches[0] = Mismatch("d" * 32, "outcome", "permit", "permit ")


def _validated(report: ReplayReport) -> None:
    report.validated += 1


def _explanation(report: ReplayReport) -> None:
    report.explanations[0]["outcome"] = "permit"


def _watermark(report: ReplayReport) -> None:
    report.watermark = {"checked": 0}


@pytest.mark.parametrize(
    "change",
    [
        _more_entries,
        _another_mismatch,
        _another_derived_value,
        _validated,
        _explanation,
        _watermark,
    ],
)
def test_any_change_to_a_report_changes_its_digest(
    change: Callable[[ReplayReport], None],
) -> None:
    report = _report()
    before = report.digest()
    assert _report().digest() == before  # the same report: the same digest
    change(report)
    assert report.digest() != before


def test_the_digest_is_of_the_canonical_json() -> None:
    """Key order does not change it (an explanation's keys written in another order), and
    it is the SHA-256 of the sorted, compact JSON."""
    report, reordered = _report(), _report()
    reordered.explanations[0] = dict(reversed(list(reordered.explanations[0].items())))
    assert list(reordered.explanations[0]) != list(report.explanations[0])
    assert reordered.digest() == report.digest()
    text = (
        b'{"entries":3,"explanations":[{"decision_id":"' + b"e" * 32 + b'","events":[],'
        b'"outcome":"deny"}],"mismatched_entries":1,"mismatches":[{"decision_id":"'
        + b"d"
        * 32
        + b'","derived":"deny","field":"outcome","recorded":"permit"}],"ok":false,'
        b'"outside_window":0,"repeats":1,"summary":{"by_agency":{},"by_agreement":{},'
        b'"by_denial_reason":{},"by_outcome":{},"by_partnership":{},"retractions":0},'
        b'"unexplained":["' + b"f" * 32 + b'"],"validated_whole":2,"watermark":null}'
    )
    assert report.digest() == hashlib.sha256(text).hexdigest()
