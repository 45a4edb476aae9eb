"""A decoded event, validated: the envelope typed and checked, the type's own fields ruled."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from hub.codec import DecodedEvent
from hub.errors import ValidationError
from hub.models.built import built_whole
from hub.models.envelope import Envelope, plain_envelope
from hub.models.rules import check_fields
from hub.models.timing import check_timeliness

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """The hub's clock, in UTC."""
    return datetime.now(UTC)


class Event(BaseModel):
    """An event the hub accepts: a valid envelope plus its type-specific ``fields``.

    ``fields`` holds the record resolved to the hub's current schema of the type, without
    ``envelope``; ``writer_version`` is the schema version the agency wrote with.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: str
    writer_version: int
    envelope: Envelope
    fields: Mapping[str, Any]

    @property
    def event_id(self) -> str:
        """The envelope's event id."""
        return self.envelope.event_id

    @property
    def subject_token(self) -> str | None:
        """The linkage token, or None for an area-only event."""
        return self.envelope.subject_token


def validate_event(decoded: DecodedEvent, *, clock: Clock | None = wall_clock) -> Event:
    """Validate a decoded record; ValidationError names the field and the rule, never the value.

    ``clock`` gives the hub's time for the timeliness bounds (``hub.models.timing``); a step
    that re-validates an event the hub already accepted passes ``clock=None`` to skip them.
    """
    raw_envelope = decoded.record["envelope"]
    envelope = _envelope(raw_envelope)
    if clock is not None:
        check_timeliness(envelope, clock())
    if envelope.event_type != decoded.event_type:
        raise ValidationError("envelope.event_type: does not match the writer schema")
    # A token where the type forbids one, or none where it requires one: say which (the
    # usual event, neither, calls nothing).
    if (envelope.subject_token is None) is (decoded.subject != "forbidden"):
        _check_subject(decoded, envelope)
    fields = dict(decoded.record)  # the record's own names in order, without the envelope
    del fields["envelope"]
    problem = check_fields(decoded.event_type, fields, raw_envelope)
    if problem is not None:
        raise ValidationError(f"{decoded.event_type} {problem[0]}: {problem[1]}")
    # Every value is valid already (the envelope validated, the fields a fresh dict of the
    # record's own names): the model is built without validating them again.
    return built_whole(
        Event,
        {
            "event_type": decoded.event_type,
            "writer_version": decoded.writer_version,
            "envelope": envelope,
            "fields": fields,
        },
    )


def _envelope(raw: Mapping[str, Any]) -> Envelope:
    plain = plain_envelope(raw)  # the usual envelope, judged without pydantic's round trip
    if plain is not None:
        return plain
    try:
        return Envelope.model_validate(raw)
    except PydanticValidationError as exc:
        raise ValidationError(_describe(exc)) from None  # pydantic's error holds the input value


def _describe(exc: PydanticValidationError) -> str:
    """``envelope.<field>: <rule>`` for each error; pydantic's messages state the rule only."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in error["loc"])
        parts.append(f"envelope{'.' + location if location else ''}: {error['msg']}")
    return "; ".join(parts)


def _check_subject(decoded: DecodedEvent, envelope: Envelope) -> None:
    has_subject = envelope.subject_token is not None
    if decoded.subject == "forbidden" and has_subject:
        raise ValidationError(f"envelope.subject_token: must be null for {decoded.event_type}")
    if decoded.subject == "required" and not has_subject:
        raise ValidationError(f"envelope.subject_token: is required for {decoded.event_type}")
