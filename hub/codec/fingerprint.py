"""Parsing Canonical Form and the CRC-64-AVRO (Rabin) fingerprint of a schema.

The single-object encoding names its writer schema by the 64-bit Rabin fingerprint of the
schema's Parsing Canonical Form, written little-endian. Computing one walks the canonical
JSON byte by byte in Python (about 250 µs for an event schema), so callers compute it once
per schema and keep it (:class:`hub.codec.SchemaStore` does so at load time).
"""

from __future__ import annotations

from typing import Any

from fastavro.schema import to_parsing_canonical_form

from hub.errors import SchemaError

_EMPTY = 0xC15D213AA4D7A795
_MASK = 0xFFFFFFFFFFFFFFFF

Schema = dict[str, Any] | list[Any] | str
"""A schema as parsed JSON: a type name, a union list or a complex type object."""


def _build_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        fp = byte
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    return tuple(table)


_TABLE = _build_table()


def crc64_avro(data: bytes) -> int:
    """The CRC-64-AVRO fingerprint of some bytes, as an unsigned 64-bit integer."""
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp & _MASK


def canonical_form(schema: Schema) -> str:
    """The schema's Parsing Canonical Form (the Avro spec's transformation rules)."""
    try:
        return str(to_parsing_canonical_form(schema))
    except (
        Exception
    ) as exc:  # fastavro raises assorted types on malformed schemas; translated here, once
        raise SchemaError(f"schema has no canonical form: {type(exc).__name__}") from exc


def fingerprint(schema: Schema) -> bytes:
    """The 8-byte little-endian CRC-64-AVRO fingerprint used by the single-object encoding."""
    return crc64_avro(canonical_form(schema).encode("utf-8")).to_bytes(8, "little")


def signed_fingerprint(schema: Schema) -> int:
    """The fingerprint as the signed 64-bit integer Java prints (``schema-tests.txt``)."""
    return int.from_bytes(fingerprint(schema), "little", signed=True)
