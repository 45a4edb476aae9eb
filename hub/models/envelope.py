"""The envelope every event carries, validated: ids, times, area, age, subject token.

:func:`plain_envelope` is the hot path's cheaper judge: it accepts only what the model's
validation certainly accepts unchanged, and leaves every other envelope to that validation
(which alone words the errors).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.models.built import built_whole

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


def _ascii(pattern: str) -> str:
    """A field pattern unanchored, its ``\\d`` narrowed to ASCII digits: what it matches in
    a ``fullmatch``, pydantic's pattern matches (its ``$`` takes no trailing newline; nor
    does ``fullmatch``)."""
    return pattern.removeprefix("^").removesuffix("$").replace(r"\d", "[0-9]")


_FIELDS = tuple(Envelope.model_fields)
#: The string fields, in this order, joined by NUL (which none of their patterns matches).
_TEXT = re.compile(
    "\x00".join(_ascii(p) for p in (UUID7, AGENCY_ID, EVENT_TYPE, LSOA, KEY_ID, LINKAGE))
).fullmatch
_TEXT_AREA = re.compile(
    "\x00".join(_ascii(p) for p in (UUID7, AGENCY_ID, EVENT_TYPE, LSOA, KEY_ID))
).fullmatch


def plain_envelope(raw: Any) -> Envelope | None:
    """The :class:`Envelope` of a decoded record's envelope when it is plainly valid, built
    without validating again; None when it is not plainly so (then validate it).

    Plainly valid: a dict of exactly the model's fields in the model's order, every value of
    exactly its field's type (datetimes in ``datetime.UTC``, as the decoder gives them),
    every pattern and bound met, ``occurred_at`` not after ``recorded_at``. The model accepts
    such an envelope as it is, so the result equals ``Envelope.model_validate(raw)``.
    """
    if type(raw) is not dict or tuple(raw) != _FIELDS:
        return None
    event_id, agency_id, event_type, occurred, recorded, token, lsoa, age, version, key_id = (
        raw.values()  # in the model's order, checked above
    )
    if not (
        type(occurred) is datetime
        and type(recorded) is datetime
        and occurred.tzinfo is UTC
        and recorded.tzinfo is UTC
        and occurred <= recorded
        and type(version) is int
        and version >= 1
        and (age is None or (type(age) is int and 0 <= age <= MAX_AGE))
        and type(event_id) is str
        and type(agency_id) is str
        and type(event_type) is str
        and type(lsoa) is str
        and type(key_id) is str
    ):
        return None
    if token is None:
        text = _TEXT_AREA(f"{event_id}\x00{agency_id}\x00{event_type}\x00{lsoa}\x00{key_id}")
    elif type(token) is str:
        text = _TEXT(f"{event_id}\x00{agency_id}\x00{event_type}\x00{lsoa}\x00{key_id}\x00{token}")
    else:
        return None
    return None if text is None else built_whole(Envelope, raw.copy())
