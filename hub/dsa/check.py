"""``hub dsa check``: is every agreement well-formed and coherent?

Each defect becomes one :class:`Finding` with a stable ``code``, the file, the path inside
the document and a message. Errors fail the check; warnings (a review date passed, a
version awaiting sign-off) are reported but do not.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from hub.dsa.catalog import Catalog
from hub.dsa.conflict import find_contradictions
from hub.dsa.decision import OPTIONAL_ENVELOPE_FIELDS
from hub.dsa.depersonalised import sna_gaps
from hub.dsa.document import Agreement
from hub.dsa.lawful import Problem, basis_gaps, consent_gaps
from hub.dsa.loader import Loaded, load_directory
from hub.registry import Registry

Severity = Literal["error", "warning"]


class Finding(BaseModel):
    """One defect (or warning) in one agreement file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Severity
    code: str
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{self.severity}: {where}: {self.message} [{self.code}]"


class CheckReport(BaseModel):
    """Every finding of a check run, and how many agreements parsed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agreements: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """True when nothing is an error."""
        return not any(f.severity == "error" for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings that fail the check."""
        return tuple(f for f in self.findings if f.severity == "error")


def check_directory(
    directory: Path, registry: Registry, catalog: Catalog | None, today: date
) -> CheckReport:
    """Load and check every agreement file in a directory."""
    return check_loaded(load_directory(directory), registry, catalog, today)


def check_loaded(
    loaded: Loaded, registry: Registry, catalog: Catalog | None, today: date
) -> CheckReport:
    """Check parsed agreements; parse problems become ``parse_error`` findings."""
    findings = [
        Finding(severity="error", code="parse_error", file=p.file, path=p.path, message=p.message)
        for p in loaded.problems
    ]
    seen: dict[tuple[str, int], str] = {}
    for file, agreement in loaded.agreements:
        key = (agreement.id, agreement.version)
        if key in seen:
            findings.append(
                _error(
                    file,
                    "version",
                    "duplicate_version",
                    f"{agreement.ref} is also defined in {seen[key]}",
                )
            )
        seen.setdefault(key, file)
        findings.extend(_check_one(file, agreement, registry, catalog, today))
    findings.extend(
        _error(file, path, "contradiction", message)
        for file, path, message in find_contradictions(loaded.agreements, registry)
    )
    ordered = sorted(findings, key=lambda f: (f.file, f.severity, f.path, f.code, f.message))
    return CheckReport(agreements=len(loaded.agreements), findings=tuple(ordered))


def _error(file: str, path: str, code: str, message: str) -> Finding:
    return Finding(severity="error", code=code, file=file, path=path, message=message)


def _warning(file: str, path: str, code: str, message: str) -> Finding:
    return Finding(severity="warning", code=code, file=file, path=path, message=message)


def _check_one(
    file: str, agreement: Agreement, registry: Registry, catalog: Catalog | None, today: date
) -> Iterator[Finding]:
    for path, code, message in (
        *_parties(agreement, registry),
        *_data_items(agreement, registry, catalog),
        *_dates(agreement),
        *basis_gaps(agreement, registry),
        *consent_gaps(agreement, registry),
        *sna_gaps(agreement),
    ):
        yield _error(file, path, code, message)
    yield from (_warning(file, p, c, m) for p, c, m in _reminders(agreement, today))


def _parties(agreement: Agreement, registry: Registry) -> Iterator[Problem]:
    agencies = {a.id for a in registry.agencies}
    partnerships = {p.id for p in registry.partnerships}
    for i, provider in enumerate(agreement.providers):
        if provider.party not in agencies:
            yield f"providers.{i}.party", "unknown_party", f"unknown agency {provider.party!r}"
    for i, recipient in enumerate(agreement.recipients):
        if recipient.party not in partnerships:
            yield (
                f"recipients.{i}.party",
                "unknown_party",
                f"unknown partnership {recipient.party!r}",
            )
        for j, neighbour in enumerate(recipient.neighbours):
            if neighbour not in partnerships:
                yield (
                    f"recipients.{i}.neighbours.{j}",
                    "unknown_party",
                    f"unknown partnership {neighbour!r}",
                )
    parties = agreement.provider_ids | agreement.recipient_ids
    for i, signatory in enumerate(agreement.signatories):
        if signatory.party not in parties:
            yield (
                f"signatories.{i}.party",
                "unknown_party",
                f"{signatory.party!r} is not a party to this agreement",
            )
    for party in sorted(parties - {s.party for s in agreement.signatories}):
        yield "signatories", "missing_signatory", f"no signatory for party {party!r}"
    for i, rule in enumerate(agreement.prohibitions):
        for j, named in enumerate(rule.recipients):
            if named not in agreement.recipient_ids:
                yield (
                    f"prohibitions.{i}.recipients.{j}",
                    "unknown_party",
                    f"{named!r} is not a recipient of this agreement",
                )


def _data_items(
    agreement: Agreement, registry: Registry, catalog: Catalog | None
) -> Iterator[Problem]:
    offered = {
        t for a in registry.agencies if a.id in agreement.provider_ids for t in a.event_types
    }
    for i, item in enumerate(agreement.data_items):
        where = f"data_items.{i}"
        if item.event_type not in registry.event_types:
            yield (
                f"{where}.event_type",
                "unknown_event_type",
                f"unknown event type {item.event_type!r}",
            )
            continue
        if item.event_type not in offered:
            yield (
                f"{where}.event_type",
                "event_type_not_provided",
                f"no provider of this agreement publishes {item.event_type!r}",
            )
        schema = None if catalog is None else catalog.get(item.event_type)
        if catalog is not None and schema is None:
            yield f"{where}.event_type", "unknown_event_type", f"no schema for {item.event_type!r}"
        for j, field in enumerate(item.fields):
            if schema is None or field.name in OPTIONAL_ENVELOPE_FIELDS:
                continue
            info = schema.get(field.name)
            if info is None:
                yield (
                    f"{where}.fields.{j}.name",
                    "unknown_field",
                    f"{item.event_type} has no field {field.name!r}",
                )
            elif str(info.sensitivity) != field.sensitivity.value:
                yield (
                    f"{where}.fields.{j}.sensitivity",
                    "sensitivity_mismatch",
                    f"{field.name!r} is {info.sensitivity} in the schema, "
                    f"marked {field.sensitivity.value}",
                )
    for i, rule in enumerate(agreement.prohibitions):
        for j, event_type in enumerate(rule.event_types):
            if event_type not in offered:
                yield (
                    f"prohibitions.{i}.event_types.{j}",
                    "unknown_event_type",
                    f"no provider of this agreement publishes {event_type!r}",
                )


def _dates(agreement: Agreement) -> Iterator[Problem]:
    start, end = agreement.effective_from, agreement.effective_to
    if end is not None and end < start:
        yield (
            "effective_to",
            "dates_out_of_order",
            f"effective_to {end} is before effective_from {start}",
        )
    if agreement.review_date < start:
        yield (
            "review_date",
            "dates_out_of_order",
            f"review_date {agreement.review_date} is before effective_from {start}",
        )
    for i, signatory in enumerate(agreement.signatories):
        if end is not None and signatory.signed_on is not None and signatory.signed_on > end:
            yield (
                f"signatories.{i}.signed_on",
                "dates_out_of_order",
                f"signed on {signatory.signed_on}, after effective_to {end}",
            )
    history = agreement.change_history
    versions = [c.version for c in history]
    if versions != sorted(set(versions)) or versions[-1] != agreement.version:
        yield (
            "change_history",
            "change_history_mismatch",
            (f"versions {versions} must ascend and end at {agreement.version}"),
        )
    if [c.changed_on for c in history] != sorted(c.changed_on for c in history):
        yield "change_history", "dates_out_of_order", "change dates do not ascend"


def _reminders(agreement: Agreement, today: date) -> Iterator[Problem]:
    expired = agreement.effective_to is not None and agreement.effective_to < today
    if agreement.review_date < today and not expired:
        yield "review_date", "review_overdue", f"review was due on {agreement.review_date}"
    if agreement.signed_on is None and not expired:
        yield "signatories", "awaiting_signoff", "not in force until every signatory signs"
