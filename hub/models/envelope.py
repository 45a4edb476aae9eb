"""The envelope every event carries, validated: ids, times, area, age, subject token."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

UUID7 = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
LSOA = r"^[EW]0\d{7}$"
AGENCY_ID = r"^[a-z0-9][a-z0-9-]*$"
EVENT_TYPE = r"^[a-z_]+\.[a-z_]+$"
LINKAGE = r"^lt1:[0-9a-f]{16}:[a-z2-7]{52}$"
"""A linkage token in its text form, ``lt1:<key id>:<base32 HMAC>`` (``hub.pseudonym``)."""
KEY_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"
MAX_AGE = 120


class Envelope(BaseModel):
    """Common event metadata, as the hub accepts it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(pattern=UUID7, description="UUIDv7, lower-case canonical text")
    agency_id: str = Field(pattern=AGENCY_ID)
    event_type: str = Field(pattern=EVENT_TYPE)
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    subject_token: str | None = Field(default=None, pattern=LINKAGE)
    lsoa: str = Field(pattern=LSOA)
    age: int | None = Field(default=None, ge=0, le=MAX_AGE)
    schema_version: int = Field(ge=1)
    key_id: str = Field(pattern=KEY_ID)

    @field_validator("occurred_at", "recorded_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.utcoffset() != timedelta(0):
            raise ValueError("must be in UTC")
        return value

    @model_validator(mode="after")
    def _recorded_after_occurred(self) -> Envelope:
        if self.occurred_at > self.recorded_at:
            raise ValueError("occurred_at is after recorded_at")
        return self
