"""A strategic needs assessment release: the query, the protected figures, the hub's signature.

A release is one disclosure decision (not one per event): the ledger gets a
:class:`ReleaseRecord` holding the query (period, area level, the accepted-topic cut-off it
was counted to), the disclosure control applied, the agreement versions that permitted the
counted events, what was left out and why (counts only), and the digest of the figures.
``hub audit replay`` counts again from the accepted topic below the same cut-off and must
find the same digest (:func:`rederive`).

The released document is canonical JSON signed by the hub's key over its figures digest, so
anyone holding the hub's public key verifies it offline (:func:`verify_release`), and finds
it in the ledger by its release id.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hub.crypto import SigningKey, VerifyKey
from hub.dsa import AgreementBook
from hub.errors import BadSignatureError, DecodeError, ReleaseRefusedError
from hub.sna.count import Counted, Period
from hub.sna.tables import Control, linked_tables, shown_figures

RELEASE_FORMAT = "vru-hub/sna-release/v1"
RECORD_KIND = "sna.release"
LEVELS = ("council", "lsoa")


@dataclass(frozen=True, slots=True)
class Query:
    """What was asked: the period, the area level, and the cut-off counted to."""

    period: Period
    by: str
    cutoff: Mapping[int, int]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (partitions as text keys, sorted)."""
        return {
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "by": self.by,
            "cutoff": {str(p): o for p, o in sorted(self.cutoff.items())},
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Query:
        """Parse :meth:`to_json`'s output."""
        period = Period(date.fromisoformat(raw["from"]), date.fromisoformat(raw["to"]))
        cutoff = {int(p): int(o) for p, o in raw["cutoff"].items()}
        return cls(period, str(raw["by"]), cutoff)


def control_for(by: str, agreements: Iterable[str], book: AgreementBook) -> Control:
    """The strictest control the permitting agreements ask for (5, exact, LSOA by default)."""
    if by not in LEVELS:
        raise ReleaseRefusedError("unknown_level", f"--by must be one of {', '.join(LEVELS)}")
    threshold, rounding = 5, 1
    for ref in sorted(agreements):
        agreement_id, _, version = ref.partition("@")
        for publication in book.versions(agreement_id):
            block = publication.agreement.disclosure
            if publication.agreement.version != int(version) or block is None:
                continue
            threshold = max(threshold, block.threshold)
            rounding = max(rounding, block.rounding)
            if block.finest_area == "council" and by == "lsoa":
                raise ReleaseRefusedError("area_too_fine", f"{ref} allows councils only")
    return Control(threshold, rounding, by)


def figures_of(counted: Counted, query: Query, control: Control) -> dict[str, Any]:
    """The released figures: every table, protected, and the control applied."""
    tables = linked_tables(counted, query.period.months(), control)
    return {
        "query": query.to_json(),
        "control": {"threshold": control.threshold, "rounding": control.rounding},
        "tables": shown_figures(tables),
    }


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(figures: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the figures' canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical(figures)).hexdigest()


@dataclass(frozen=True, slots=True)
class Release:
    """A signed release: its id, time, figures and the ledger record that accounts for it."""

    release_id: str
    released_at: datetime
    figures: Mapping[str, Any]
    record: Mapping[str, Any]
    document: Mapping[str, Any]


def build_release(
    counted: Counted, query: Query, book: AgreementBook, signed: tuple[SigningKey, datetime]
) -> Release:
    """Protect, sign and account for a release counted for ``query``; ``signed`` is the hub's
    key and the release time."""
    key, at = signed
    control = control_for(query.by, counted.agreements, book)
    figures = figures_of(counted, query, control)
    digest = digest_of(figures)
    release_id = hashlib.sha256(canonical([digest, at.isoformat()])).hexdigest()[:32]
    record = {
        "decision_id": f"sna:{release_id}",
        "kind": RECORD_KIND,
        "decided_at": at.isoformat(),
        "purpose": "strategic_needs_assessment",
        "query": query.to_json(),
        "figures_digest": digest,
        "counted": counted.total,
        "excluded": dict(sorted(counted.excluded.items())),
        "agreements": sorted(counted.agreements),
    }
    signature = key.sign(canonical({"release_id": release_id, "digest": digest}))
    document = {
        "format": RELEASE_FORMAT,
        "release_id": release_id,
        "released_at": at.isoformat(),
        "figures": figures,
        "figures_digest": digest,
        "agreements": sorted(counted.agreements),
        "signature": {"key_id": key.key_id, "value": base64.b64encode(signature).decode()},
    }
    return Release(release_id, at, figures, record, document)


def verify_release(document: Mapping[str, Any], keys: Iterable[VerifyKey]) -> str:
    """Check a release document's digest and signature; returns its release id.

    Raises DecodeError for a document that is not a release, BadSignatureError when the
    figures were changed or no trusted key signed them.
    """
    try:
        if document["format"] != RELEASE_FORMAT:
            raise DecodeError("not an SNA release")
        release_id, digest = str(document["release_id"]), str(document["figures_digest"])
        signature = base64.b64decode(document["signature"]["value"], validate=True)
        key_id = str(document["signature"]["key_id"])
        figures = document["figures"]
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(f"release does not parse ({type(exc).__name__})") from exc
    if digest_of(figures) != digest:
        raise BadSignatureError("the figures do not match the signed digest")
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        raise BadSignatureError(f"release signed by untrusted key {key_id}")
    key.verify(signature, canonical({"release_id": release_id, "digest": digest}))
    return release_id


def is_release_record(raw: object) -> bool:
    """Whether a ledger entry (JSON data) is a release record."""
    return isinstance(raw, dict) and raw.get("kind") == RECORD_KIND


def rederive(recorded: Mapping[str, Any], counted: Counted, book: AgreementBook) -> dict[str, Any]:
    """The fields of a release record counted again: compare them with the recorded ones."""
    query = Query.from_json(recorded["query"])
    control = control_for(query.by, counted.agreements, book)
    return {
        "figures_digest": digest_of(figures_of(counted, query, control)),
        "counted": counted.total,
        "excluded": dict(sorted(counted.excluded.items())),
        "agreements": sorted(counted.agreements),
    }


def guard_differencing(query: Query, earlier: Iterable[Mapping[str, Any]]) -> None:
    """Refuse a release whose period overlaps an earlier one's without equalling it.

    Two overlapping releases at different periods or area levels differ by the events of the
    part they do not share; subtracting a total of one from the other would hand out counts
    that each release hid. A release of the very same period and level (a revision) and one
    of a disjoint period are allowed.
    """
    for raw in earlier:
        if not is_release_record(raw):
            continue
        before = Query.from_json(raw["query"])
        same = before.period == query.period and before.by == query.by
        overlaps = (
            before.period.start <= query.period.end and query.period.start <= before.period.end
        )
        if overlaps and not same:
            raise ReleaseRefusedError(
                "differencing_risk",
                f"release {raw['decision_id']} covered {before.period.start}..{before.period.end}"
                f" by {before.by}: release the same period and level, or a disjoint one",
            )
