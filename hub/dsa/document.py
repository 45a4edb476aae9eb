"""The agreement document: one data-sharing agreement version, as frozen value objects.

The shape follows the ICO Data Sharing Code of Practice: parties and roles, purposes, lawful
basis and legal gateway, data items field by field, geography, age scope, consent, dates,
retention, security, sign-off, DPIA reference and change history. The model checks types
and shapes only; coherence against the registry and the schemas is ``hub.dsa.check``'s job,
so that a check can report every defect rather than the first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.dsa.vocabulary import (
    Article6Basis,
    Article9Condition,
    Article10Basis,
    Classification,
    LegalGateway,
    Level,
    Purpose,
    Role,
    Schedule1Condition,
    Sensitivity,
)

_ID = r"^[a-z0-9][a-z0-9-]*$"
_EVENT_TYPE = r"^[a-z_]+\.[a-z_]+$"
_FIELD = r"^[a-z_][a-z0-9_]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Contact(_Frozen):
    """Who to call about the agreement at one party."""

    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")


class LawfulBasis(_Frozen):
    """A provider's lawful basis: Art. 6, and Art. 9/10 with Schedule 1 where needed."""

    article_6: Article6Basis
    article_9: Article9Condition | None = None
    article_10: Article10Basis | None = None
    schedule_1: tuple[Schedule1Condition, ...] = ()
    dpa_2018_part_3: bool = Field(
        default=False, description="law-enforcement processing by a competent authority"
    )


class Provider(_Frozen):
    """An agency that discloses under the agreement."""

    party: str = Field(pattern=_ID)
    role: Role
    contact: Contact
    lawful_basis: LawfulBasis


class Recipient(_Frozen):
    """A partnership that receives; ``neighbours`` widen its geography to named areas."""

    party: str = Field(pattern=_ID)
    role: Role
    contact: Contact
    neighbours: tuple[str, ...] = ()


class AgeScope(_Frozen):
    """Inclusive bounds on the subject's age in whole years at the event."""

    min: int | None = Field(default=None, ge=0, le=130)
    max: int | None = Field(default=None, ge=0, le=130)

    def contains(self, age: int | None) -> bool:
        """Whether an age is in scope; an unknown age is never in a bounded scope."""
        if self.min is None and self.max is None:
            return True
        if age is None:
            return False
        return (self.min is None or age >= self.min) and (self.max is None or age <= self.max)


class FieldItem(_Frozen):
    """One data item that may be disclosed, with its sensitivity marked."""

    name: str = Field(pattern=_FIELD)
    sensitivity: Sensitivity = Sensitivity.NORMAL


class DataItem(_Frozen):
    """What of one event type may flow: the level, the fields, consent and age limits."""

    event_type: str = Field(pattern=_EVENT_TYPE)
    level: Level = Level.PERSON
    fields: tuple[FieldItem, ...] = ()
    consent_required: bool = False
    age_scope: AgeScope | None = None

    @property
    def field_names(self) -> frozenset[str]:
        """The allow-list of field names."""
        return frozenset(f.name for f in self.fields)


class Prohibition(_Frozen):
    """An explicit deny clause. Empty lists mean "any"; empty ``fields`` denies the flow."""

    id: str = Field(pattern=_ID)
    description: str = Field(min_length=1)
    event_types: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    purposes: tuple[Purpose, ...] = ()
    fields: tuple[str, ...] = ()
    age_scope: AgeScope | None = None

    @property
    def whole_flow(self) -> bool:
        """True when the clause forbids the disclosure itself, not only some fields."""
        return not self.fields


class Signatory(_Frozen):
    """A senior officer who signs for a party; ``signed_on`` is empty until they sign."""

    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    party: str = Field(pattern=_ID)
    signed_on: date | None = None


class Change(_Frozen):
    """One entry in the change history."""

    version: int = Field(ge=1)
    changed_on: date
    summary: str = Field(min_length=1)


class Retention(_Frozen):
    """How long recipients keep delivered alerts, and how they delete them."""

    alerts_days: int = Field(ge=1, le=3650)
    deletion: str = Field(min_length=1)


class Operations(_Frozen):
    """The ICO code's operational clauses, as short statements."""

    transfer: str = "hub: encrypted per partnership, in near real time"
    data_quality: str = "providers correct errors at source and republish"
    subject_rights: str = "requests go to the provider's data protection officer"
    breach_handling: str = "report to all parties' DPOs within 24 hours"


class Disclosure(_Frozen):
    """How aggregate releases made under the agreement are protected (``hub sna export``).

    ``threshold``: the smallest count shown (never below 5); ``rounding``: every shown figure
    rounded to a multiple of it (1: exact); ``finest_area``: the finest geography released.
    """

    threshold: int = Field(default=5, ge=5, le=100)
    rounding: int = Field(default=1, ge=1, le=100)
    finest_area: Literal["lsoa", "council"] = "lsoa"


class Agreement(_Frozen):
    """One version of a data-sharing agreement."""

    id: str = Field(pattern=_ID)
    version: int = Field(ge=1)
    title: str = Field(min_length=1)
    providers: tuple[Provider, ...] = Field(min_length=1)
    recipients: tuple[Recipient, ...] = Field(min_length=1)
    purposes: tuple[Purpose, ...] = Field(min_length=1)
    consent_purpose: Purpose | None = None
    legal_gateways: tuple[LegalGateway, ...] = Field(min_length=1)
    data_items: tuple[DataItem, ...] = Field(min_length=1)
    prohibitions: tuple[Prohibition, ...] = ()
    age_scope: AgeScope | None = None
    effective_from: date
    effective_to: date | None = None
    review_date: date
    retention: Retention
    security_classification: Classification
    signatories: tuple[Signatory, ...] = Field(min_length=1)
    dpia_reference: str = Field(min_length=1)
    change_history: tuple[Change, ...] = Field(min_length=1)
    operations: Operations = Operations()
    disclosure: Disclosure | None = None

    @property
    def ref(self) -> str:
        """``id@version``, the handle a decision records."""
        return f"{self.id}@{self.version}"

    @property
    def provider_ids(self) -> frozenset[str]:
        """Ids of the agencies that disclose."""
        return frozenset(p.party for p in self.providers)

    @property
    def recipient_ids(self) -> frozenset[str]:
        """Ids of the partnerships that receive."""
        return frozenset(r.party for r in self.recipients)

    @property
    def signed_on(self) -> date | None:
        """The date of the last signature, or None while any signatory has not signed."""
        dates = [s.signed_on for s in self.signatories]
        if any(d is None for d in dates):
            return None
        return max(d for d in dates if d is not None)

    def in_force_window(self) -> tuple[datetime, datetime | None] | None:
        """``[start, end)`` in UTC, or None when the agreement can never be in force.

        It starts at the later of ``effective_from`` and the last signature and ends after
        the whole day ``effective_to``.
        """
        signed = self.signed_on
        if signed is None:
            return None
        start = _midnight(max(self.effective_from, signed))
        end = None if self.effective_to is None else _midnight(self.effective_to + timedelta(1))
        if end is not None and end <= start:
            return None
        return start, end

    def in_force(self, at: datetime) -> bool:
        """Whether this version, taken alone, is in force at ``at``."""
        window = self.in_force_window()
        if window is None:
            return False
        start, end = window
        return start <= at and (end is None or at < end)

    def item_for(self, event_type: str) -> DataItem | None:
        """The data item for an event type, if the agreement covers it."""
        return next((i for i in self.data_items if i.event_type == event_type), None)

    def recipient(self, party: str) -> Recipient | None:
        """The recipient entry for a partnership id."""
        return next((r for r in self.recipients if r.party == party), None)

    def provider(self, party: str) -> Provider | None:
        """The provider entry for an agency id."""
        return next((p for p in self.providers if p.party == party), None)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
