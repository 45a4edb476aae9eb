"""Suspending and resuming a party: records on the agreements topic, ordered with agreements.

A suspension is published like an agreement version (``hub registry suspend``): one record on
the agreements topic with the next publisher sequence, then a switch marker in every accepted
partition. Workers fold it into their :class:`~hub.dsa.book.AgreementBook` and apply it at the
marker, so every worker stops at the same point of each partition without a restart, and an
auditor replaying the topic sees the same decisions. While a party is suspended every
disclosure it takes part in is denied (``recipient_suspended``, ``agency_suspended``) and
recorded; nothing is dropped: a resume re-decides at its own marker.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeGuard

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from hub.errors import AgreementError

SUSPENSION_KIND = "vru.registry.suspension"
SUSPENSION_FORMAT = 1


class Party(StrEnum):
    """Who can be suspended."""

    AGENCY = "agency"
    PARTNERSHIP = "partnership"


class Action(StrEnum):
    """What a suspension record does."""

    SUSPEND = "suspend"
    RESUME = "resume"


class Suspension(BaseModel):
    """One suspend or resume of one party, with the publisher's sequence and clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    party: Party
    party_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    action: Action
    reason: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    """A short code (``breach_investigation``, ``agreement_review``): never free text."""
    sequence: int = Field(ge=1)
    published_at: datetime

    @property
    def target(self) -> tuple[Party, str]:
        """The party this record is about."""
        return self.party, self.party_id


def encode_suspension_message(suspension: Suspension) -> bytes:
    """The bytes to publish on the agreements topic (canonical JSON)."""
    if suspension.published_at.tzinfo is None:
        raise AgreementError("suspension time has no time zone")
    body = suspension.model_dump(mode="json")
    body["published_at"] = suspension.published_at.astimezone(UTC).isoformat()
    return json.dumps(
        {"kind": SUSPENSION_KIND, "format": SUSPENSION_FORMAT, **body},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def is_suspension_message(raw: object) -> TypeGuard[dict[str, object]]:
    """Whether a parsed agreements-topic record is a suspension record."""
    return isinstance(raw, dict) and raw.get("kind") == SUSPENSION_KIND


def decode_suspension_message(raw: dict[str, object]) -> Suspension:
    """A parsed suspension record, checked; AgreementError says what is wrong."""
    if raw.get("format") != SUSPENSION_FORMAT:
        raise AgreementError(f"unsupported suspension format {raw.get('format')!r}")
    fields = {k: v for k, v in raw.items() if k not in {"kind", "format"}}
    try:
        suspension = Suspension.model_validate(fields)
    except PydanticValidationError as exc:
        paths = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise AgreementError(f"suspension record invalid at {paths}") from exc
    if suspension.published_at.tzinfo is None:
        raise AgreementError("suspension time has no time zone")
    return suspension


def suspended_parties(
    suspensions: tuple[Suspension, ...], at: datetime | None
) -> frozenset[tuple[Party, str]]:
    """The parties suspended after folding ``suspensions`` in order (those published by ``at``).

    ``at`` None counts every record (a book cut at a stream marker knows them all).
    """
    barred: set[tuple[Party, str]] = set()
    for record in suspensions:
        if at is not None and record.published_at > at:
            continue
        if record.action is Action.SUSPEND:
            barred.add(record.target)
        else:
            barred.discard(record.target)
    return frozenset(barred)
