"""What a backtest's planner reads of a message: its envelope's time, event id and key, alone.

The planner orders and routes every message by its envelope before ingest reads it
(:mod:`hub.backtest.plan`). Across processes (:mod:`hub.backtest.shards`) the command's
process decoded each message whole only for that, and then the process running it decoded it
again: 57 % of the command's time. :class:`Envelopes` reads the envelope and nothing after it.
Avro is read in order and the envelope is every event schema's first field, so a schema of
that field alone reads it and stops; its two timestamps are read as the plain longs they are
written as (their conversion to datetimes cost about as much as the rest), and only
``recorded_at`` is made a datetime, as the whole decode makes it. The envelope is checked as
the whole decode checks it: the fingerprint known, its ``event_type`` and ``schema_version``
those of the writer schema it names.

A message whose envelope reads but whose body after it does not is ordered and routed by
its envelope, and ingest refuses it where it runs, with the reason it gives any such
message (:class:`Planned` steps are the same in one process and in several:
:meth:`EnvelopeRead.read`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from fastavro import parse_schema, schemaless_reader

from hub.codec import DecodedEvent, SchemaStore
from hub.codec.single_object import split_header
from hub.errors import DecodeError, HubError, UnknownSchemaError


class Envelope(NamedTuple):
    """What the planner orders and routes a message by (a named tuple: one is made for
    every event, at a third of a frozen dataclass's cost)."""

    recorded_at: datetime
    event_id: str
    key: str | None
    """Its subject's linkage token, ``area:<LSOA>`` for an area event, or None."""


@dataclass(frozen=True, slots=True)
class _Prefix:
    parsed: Any
    event_type: str
    version: int


class Envelopes:
    """Reads messages' envelopes alone, for every schema version of ``store``.

    A version whose envelope is not its first field, or differs from the envelope its type's
    current version reads (the whole decode resolves to it), is decoded whole instead.
    """

    def __init__(self, store: SchemaStore) -> None:
        self._store = store
        self._prefixes: dict[bytes, _Prefix | None] = {}
        for event_type in sorted(store.event_types):
            current = store.schema(event_type)
            for version in store.versions(event_type):
                schema = store.schema(event_type, version)
                prefix = _prefix(schema, current)
                found = None if prefix is None else _Prefix(prefix, event_type, version)
                self._prefixes[store.fingerprint(event_type, version)] = found

    def __call__(self, data: bytes) -> Envelope:
        """The message's envelope; DecodeError or UnknownSchemaError when it does not read."""
        fingerprint, body = split_header(data)
        prefix = self._prefixes.get(fingerprint, _UNKNOWN)
        if prefix is _UNKNOWN:
            raise UnknownSchemaError(fingerprint)
        if prefix is None:
            return envelope_of(self._store.decode(data).record["envelope"])
        try:
            record: Any = schemaless_reader(io.BytesIO(body), prefix.parsed, None)
            envelope: dict[str, Any] = record["envelope"]
            at = _EPOCH + timedelta(microseconds=envelope["recorded_at"] * 1000)  # as fastavro
        # as hub.codec.single_object.decode_body: any failure means the bytes are bad
        except Exception as exc:
            raise DecodeError(f"envelope does not decode: {type(exc).__name__}") from exc
        if envelope["event_type"] != prefix.event_type:
            raise DecodeError("envelope.event_type contradicts the writer schema")
        if envelope["schema_version"] != prefix.version:
            raise DecodeError("envelope.schema_version contradicts the writer schema")
        return Envelope(at, str(envelope["event_id"]), _key(envelope))

    def whole(self, data: bytes) -> bool:
        """Whether the message decodes whole (as ingest decodes it)."""
        try:
            self._store.decode(data)
        except HubError:
            return False
        return True


_UNKNOWN = _Prefix(None, "", 0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EnvelopeRead:
    """How a planner reads each message: its envelope, and whether it decoded whole (None:
    not tried). Both readings order and route a message the same way."""

    read: Callable[[bytes], tuple[Envelope, bool | None]]
    whole: Callable[[bytes], bool]

    @classmethod
    def alone(cls, envelopes: Envelopes) -> EnvelopeRead:
        """The envelope alone (the command's process of a run across processes)."""
        return cls(lambda data: (envelopes(data), None), envelopes.whole)

    @classmethod
    def ahead(cls, envelopes: Envelopes, decode: Callable[[bytes], DecodedEvent]) -> EnvelopeRead:
        """The whole message decoded by ``decode`` (one process: ingest takes it), its
        envelope read alone when it does not decode whole."""

        def read(data: bytes) -> tuple[Envelope, bool | None]:
            try:
                decoded = decode(data)
            except HubError:
                return envelopes(data), False
            return envelope_of(decoded.record["envelope"]), True

        return cls(read, envelopes.whole)


def envelope_of(envelope: Mapping[str, Any]) -> Envelope:
    """The planner's reading of a decoded envelope."""
    return Envelope(envelope["recorded_at"], str(envelope["event_id"]), _key(envelope))


def _key(envelope: Mapping[str, Any]) -> str | None:
    token = envelope.get("subject_token")
    if isinstance(token, str):
        return token
    lsoa = envelope.get("lsoa")
    return f"area:{lsoa}" if isinstance(lsoa, str) else None


def _prefix(schema: Mapping[str, Any], current: Mapping[str, Any]) -> Any:
    """The schema of ``schema``'s envelope field alone, its timestamps plain longs (None when
    the envelope is not its first field, differs from the current version's, or its
    ``recorded_at`` is not a ``timestamp-millis``)."""
    fields, now = schema.get("fields") or [], current.get("fields") or []
    if not fields or not now or fields[0].get("name") != "envelope" or fields[0] != now[0]:
        return None
    envelope = fields[0]
    record = envelope["type"]
    if not isinstance(record, dict):
        return None
    times = {f["name"]: f["type"] for f in record.get("fields", []) if isinstance(f, dict)}
    if times.get("recorded_at") != _MILLIS:
        return None
    plain = [{**f, "type": "long"} if f["type"] == _MILLIS else f for f in record["fields"]]
    wrapped = {**envelope, "type": {**record, "fields": plain}}
    return parse_schema(
        {"type": "record", "name": f"{schema['name']}Envelope", "fields": [wrapped]}
    )


_MILLIS = {"type": "long", "logicalType": "timestamp-millis"}
