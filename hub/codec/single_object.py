"""Avro single-object encoding: ``C3 01``, the writer's 8-byte fingerprint, then the body.

fastavro has no single-object API (its issue #501), so the framing is done here. This module
is also the one place where fastavro's reader and writer errors are translated: anything
fastavro raises on bad bytes becomes :class:`~hub.errors.DecodeError`, anything it raises on
a bad record becomes :class:`~hub.errors.ValidationError`, always ``from`` the original.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.validation import ValidationError as AvroValidationError
from fastavro.validation import validate

from hub.codec.fingerprint import Schema, fingerprint
from hub.errors import DecodeError, SchemaError, UnknownSchemaError, ValidationError

MARKER = b"\xc3\x01"
HEADER_SIZE = len(MARKER) + 8
MAX_MESSAGE_SIZE = 1 << 20
"""Largest message accepted (1 MiB): an event is well under 2 KiB; this bounds every length."""


@dataclass(frozen=True, slots=True)
class WriterSchema:
    """A schema ready to write and read: its JSON, fastavro's parsed form and its fingerprint."""

    json: Schema
    parsed: Any
    fingerprint: bytes

    @classmethod
    def of(cls, schema: Schema) -> WriterSchema:
        """Parse a schema and compute its fingerprint (slow: keep the result)."""
        try:
            parsed = parse_schema(schema)
        except Exception as exc:  # fastavro raises assorted types on malformed schemas
            raise SchemaError(f"schema does not parse: {exc}") from exc
        return cls(json=schema, parsed=parsed, fingerprint=fingerprint(schema))


def split_header(data: bytes) -> tuple[bytes, memoryview]:
    """The fingerprint and the body of a single-object message, or DecodeError."""
    return header_fingerprint(data), memoryview(data)[HEADER_SIZE:]


def header_fingerprint(data: bytes) -> bytes:
    """The fingerprint of a single-object message (its body starts at HEADER_SIZE), or
    DecodeError."""
    if len(data) < HEADER_SIZE:
        raise DecodeError(f"message of {len(data)} bytes is shorter than the header")
    if len(data) > MAX_MESSAGE_SIZE:
        raise DecodeError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_SIZE}")
    if data[:2] != MARKER:
        raise DecodeError("message does not start with the single-object marker C3 01")
    return bytes(data[2:HEADER_SIZE])


def encode_body(writer: WriterSchema, record: Mapping[str, Any]) -> bytes:
    """The Avro binary body of a record, or ValidationError naming the offending fields."""
    try:
        validate(record, writer.parsed, raise_errors=True)
    except AvroValidationError as exc:
        raise ValidationError(f"record does not match its schema at {_error_fields(exc)}") from exc
    buffer = io.BytesIO()
    try:
        schemaless_writer(buffer, writer.parsed, record)
    except Exception as exc:  # fastavro's writer raises assorted types; translated once, here
        raise ValidationError(f"record cannot be written: {type(exc).__name__}") from exc
    return buffer.getvalue()


def frame(writer: WriterSchema, body: bytes) -> bytes:
    """Prefix an Avro body with the marker and the writer's fingerprint."""
    return MARKER + writer.fingerprint + body


def decode_body(
    writer: WriterSchema, body: bytes | memoryview, reader: WriterSchema | None, start: int = 0
) -> Any:
    """Read a body written with ``writer`` (from ``start`` to the end of ``body``: a whole
    message's bytes are read in place), resolved to ``reader`` (or as written when None).

    Any fastavro failure, and any byte left over after the record, is a DecodeError.
    """
    stream = io.BytesIO(body)  # shares the bytes of a bytes object: no copy
    stream.seek(start)
    try:
        record = schemaless_reader(stream, writer.parsed, None if reader is None else reader.parsed)
    # EOFError, ValueError, IndexError, UnicodeDecodeError, OverflowError, MemoryError,
    # fastavro's SchemaResolutionError...: whatever the type, it means the bytes are bad.
    except Exception as exc:
        raise DecodeError(f"body does not decode: {type(exc).__name__}") from exc
    if stream.tell() != len(body):
        raise DecodeError(f"{len(body) - stream.tell()} bytes left after the record")
    return record


def encode_with(schema: Schema, record: Mapping[str, Any]) -> bytes:
    """Single-object encode a record with an arbitrary schema (cached by its JSON)."""
    writer = _writer_for(json.dumps(schema, sort_keys=True))
    return frame(writer, encode_body(writer, record))


def decode_with(schema: Schema, data: bytes, *, reader: Schema | None = None) -> Any:
    """Decode a single-object message written with ``schema``, optionally resolved to ``reader``.

    Raises DecodeError on malformed bytes and UnknownSchemaError when the message's
    fingerprint is not the fingerprint of ``schema``.
    """
    writer = _writer_for(json.dumps(schema, sort_keys=True))
    found, body = split_header(data)
    if found != writer.fingerprint:
        raise UnknownSchemaError(found)
    target = None if reader is None else _writer_for(json.dumps(reader, sort_keys=True))
    return decode_body(writer, body, target)


@lru_cache(maxsize=256)
def _writer_for(schema_json: str) -> WriterSchema:
    return WriterSchema.of(json.loads(schema_json))


def _error_fields(exc: AvroValidationError) -> str:
    """The field paths of a fastavro validation error; its datum (a value) is never kept."""
    fields = sorted({str(getattr(error, "field", "") or "record") for error in exc.errors})
    return ", ".join(fields) or "record"
