"""Many table rows in one changelog record: what a worker writes per record, not per row.

faust sends one changelog record per table row it sets, and pays its per-record cost for each
(an accepted record of 256 events sets hundreds of rows). The worker instead stores the rows of
one record locally as before and writes them to the changelog as one packed record per table::

    key    0x00 ‖ "pack" ‖ u64 origin ‖ u32 chunk ‖ SHA-256(the pack's row keys)[:16]
    value  "VRP1" ‖ u32 count ‖ (u32 len ‖ row key ‖ u32 len ‖ sealed value) for each row

big-endian, where each sealed value is exactly what a single-row record would carry
(:func:`hub.crypto.tablevalue.seal_value`, bound to the table, the changelog partition and
its row key). The pack itself carries no MAC: recovery verifies every inner row as if it had
come alone, so a forged or stale row is refused alone and the pack's other rows still apply.

``origin`` is the offset of the source record the rows were written for, ``chunk`` the
pack's index among that record's packs, and the digest names the set of rows the pack holds
(each key length-prefixed, in order). Two records never share a key. A redelivered record that
writes the same rows rewrites the same key, and a compacted changelog keeps the newest, which
is at least as new in every row. A redelivery that writes *fewer* rows (an area row that already
holds the event, a subject a rescan finds unchanged, chunks cut differently after a crash in
the middle of a record's packs) gets another key, so compaction never drops a pack for one
that lacks some of its rows. No row key starts with
a NUL byte (subject tokens, ``__policy__:``/``__area__:`` rows, SNA count rows and feed
positions are all printable text), so a reader tells a pack from a row by its key
(:func:`is_pack_key`). :func:`pack_rows` splits rows into packs of at most
:data:`PACK_BUDGET` bytes; :func:`parse_rows` raises :class:`~hub.errors.MalformedPackError`
and nothing else for bytes that are not a pack.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator, Sequence

from hub.errors import MalformedPackError

MAGIC = b"VRP1"
PACK_PREFIX = b"\x00pack"
#: The largest pack :func:`pack_rows` makes: half of the largest record a topic takes
#: (``hub.retention.MAX_MESSAGE_BYTES``), as the correlation outbox's ``RECORD_BUDGET``.
PACK_BUDGET = 512 * 1024
#: The most rows a pack may claim, and the longest row key it may carry.
MAX_PACK_ROWS = 1 << 16
MAX_KEY_SIZE = 4096
_LEN = struct.Struct(">I")
_KEY = struct.Struct(">QI")
_ROW_OVERHEAD = 2 * _LEN.size
_ROWS_DIGEST = 16

PackedRow = tuple[bytes, bytes]
"""A row key and its sealed value."""
Changed = tuple[bytes | None, bytes | None]
"""A changelog record's key and value, as read (either may be missing)."""

__all__ = [
    "MAGIC",
    "MAX_KEY_SIZE",
    "MAX_PACK_ROWS",
    "PACK_BUDGET",
    "PACK_PREFIX",
    "Changed",
    "PackedRow",
    "encode_rows",
    "is_pack_key",
    "iter_rows",
    "pack_key",
    "pack_rows",
    "parse_rows",
]


def is_pack_key(key: object) -> bool:
    """True when a changelog key claims a pack (its value may still fail to parse)."""
    return isinstance(key, bytes) and key[:1] == PACK_PREFIX[:1]


def pack_key(origin: int, chunk: int, row_keys: Iterable[bytes]) -> bytes:
    """The changelog key of the ``chunk``-th pack of the record at offset ``origin``, holding
    the rows ``row_keys`` (in the pack's order)."""
    digest = hashlib.sha256()
    for key in row_keys:
        digest.update(_LEN.pack(len(key)))
        digest.update(key)
    return PACK_PREFIX + _KEY.pack(origin, chunk) + digest.digest()[:_ROWS_DIGEST]


def pack_rows(rows: Sequence[PackedRow], budget: int = PACK_BUDGET) -> list[list[PackedRow]]:
    """``rows`` split in order into groups whose pack is at most ``budget`` bytes.

    A row larger than the budget on its own makes a group of one. Raises ``ValueError`` for a
    row key a reader would take for a pack's, or too long to read back.
    """
    groups: list[list[PackedRow]] = []
    group: list[PackedRow] = []
    size = len(MAGIC) + _LEN.size
    for key, value in rows:
        if is_pack_key(key) or not 0 < len(key) <= MAX_KEY_SIZE:
            raise ValueError("a row key must be 1 to 4096 bytes and not start with a NUL byte")
        cost = _ROW_OVERHEAD + len(key) + len(value)
        if group and (size + cost > budget or len(group) == MAX_PACK_ROWS):
            groups.append(group)
            group, size = [], len(MAGIC) + _LEN.size
        group.append((key, value))
        size += cost
    if group:
        groups.append(group)
    return groups


def encode_rows(rows: Sequence[PackedRow]) -> bytes:
    """One pack's value (see the module docstring)."""
    parts = [MAGIC, _LEN.pack(len(rows))]
    for key, value in rows:
        parts += [_LEN.pack(len(key)), key, _LEN.pack(len(value)), value]
    return b"".join(parts)


def parse_rows(data: object) -> list[PackedRow]:
    """A pack's rows in order; :class:`MalformedPackError` if ``data`` is not a pack."""
    if not isinstance(data, bytes):
        raise MalformedPackError("not bytes", 0)
    if data[: len(MAGIC)] != MAGIC:
        raise MalformedPackError("magic", 0)
    at = len(MAGIC)
    if len(data) < at + _LEN.size:
        raise MalformedPackError("truncated count", at)
    (count,) = _LEN.unpack_from(data, at)
    at += _LEN.size
    if not 0 < count <= MAX_PACK_ROWS or count * _ROW_OVERHEAD > len(data) - at:
        raise MalformedPackError("row count", at - _LEN.size)
    rows = []
    for _ in range(count):
        key, at = _field(data, at, MAX_KEY_SIZE, "key")
        if not key or is_pack_key(key):
            raise MalformedPackError("row key", at - len(key))
        value, at = _field(data, at, len(data), "value")
        rows.append((key, value))
    if at != len(data):
        raise MalformedPackError("bytes after the last row", at)
    return rows


def iter_rows(
    key: bytes | None, value: bytes | None
) -> Iterator[tuple[bytes | None, bytes | None]]:
    """The rows a changelog record carries: a pack's, or the record itself as one row."""
    if is_pack_key(key):
        yield from parse_rows(value)
    else:
        yield key, value


def _field(data: bytes, at: int, limit: int, name: str) -> tuple[bytes, int]:
    """A length-prefixed field at ``at`` of at most ``limit`` bytes, and the offset after it."""
    if len(data) < at + _LEN.size:
        raise MalformedPackError(f"truncated {name} length", at)
    (length,) = _LEN.unpack_from(data, at)
    at += _LEN.size
    if length > limit or len(data) < at + length:
        raise MalformedPackError(f"truncated {name}", at)
    return data[at : at + length], at + length
