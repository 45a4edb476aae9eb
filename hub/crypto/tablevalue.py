"""Table values that carry their own MAC: what the worker writes to its tables' changelogs.

faust keeps each table in a changelog topic and reads it back when a worker recovers. Anyone
who can reach the broker can append to that topic, so every value the hub stores is::

    "VRT1" ‖ key id (8 bytes) ‖ u64 version ‖ value ‖ HMAC-SHA256 (32)

with the MAC (the hub's internal key) over::

    "vru-hub/table-value/v1" 0x00 ‖ u16 len ‖ table ‖ u32 partition ‖ u32 len ‖ row key ‖ body

bound to the table, the changelog partition and the row it was written for: a value moved to
another row, partition or table does not verify. The version rises with every write of a row
(the stream offset it was written at), so a genuine old value appended again is refused as
stale on recovery: a
changelog is state, last write wins, and a replayed old value would roll a row back (a
consent withdrawal, a suspension's agreement sequence). The recovering table keeps, per row,
the newest verified version (``agents.tables``).
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from hub.crypto.secret import HmacKey
from hub.errors import BadSignatureError, MalformedRecordError, UnknownKeyError

MAGIC = b"VRT1"
DOMAIN = b"vru-hub/table-value/v1\x00"
MAC_SIZE = 32
_HEAD = struct.Struct(">4s8sQ")
_BIND = struct.Struct(">HI")
_ROW = struct.Struct(">I")
_VERSION = struct.Struct(">Q")  # _HEAD's last field, at 12


@dataclass(frozen=True, slots=True)
class TableValue:
    """A stored value, unwrapped: the version it was written at and its bytes."""

    version: int
    value: bytes


@dataclass(frozen=True, slots=True)
class Row:
    """Where a value lives: its table, the changelog partition it is written to, its key."""

    table: str
    partition: int
    key: bytes


def seal_value(key: HmacKey, row: Row, version: int, value: bytes) -> bytes:
    """The stored form of ``value`` for ``row``."""
    return Sealing(key, row.table, row.partition).seal(row.key, version, value)


class Sealing:
    """:func:`seal_value` for many rows of one table's partition under one key: the parts of
    the value and of the MAC's statement that every row shares are made once (a record's
    rows are sealed together: about one SNA row per event, and its subjects' rows)."""

    __slots__ = ("_bound", "_head", "_mac", "_version", "_versioned")

    def __init__(self, key: HmacKey, table: str, partition: int) -> None:
        self._mac = key.mac
        self._head = MAGIC + _key_id(key.key_id)
        self._bound = _bound(table, partition)
        self._version: int | None = None  # none yet: the first seal makes the head
        self._versioned = b""

    def seal(self, row: bytes, version: int, value: bytes) -> bytes:
        """``seal_value(key, Row(table, partition, row), version, value)``.

        A record's rows are mostly written at one version (its offset): the value's head
        with that version is made once and kept until another version is asked for."""
        if version != self._version:
            self._versioned = self._head + _VERSION.pack(version)
            self._version = version
        body = self._versioned + value
        # _row_statement, inline: one call less per row
        return body + self._mac(self._bound + _ROW.pack(len(row)) + row + body)


def value_of(stored: bytes) -> TableValue:
    """Unwrap a value this worker holds (verified when it entered the table); no MAC check."""
    return TableValue(*unwrapped(stored))


def unwrapped(stored: bytes) -> tuple[int, bytes]:
    """:func:`value_of` as (version, value), without the :class:`TableValue`."""
    if len(stored) < _HEAD.size + MAC_SIZE or stored[:4] != MAGIC:
        raise MalformedRecordError("not a hub table value")
    (version,) = _VERSION.unpack_from(stored, _HEAD.size - _VERSION.size)
    return version, stored[_HEAD.size : -MAC_SIZE]


def verify_value(
    keys: Callable[[str], HmacKey | None], row: Row | None, stored: bytes | None
) -> TableValue:
    """Unwrap a value read from a changelog once its MAC verifies for ``row``.

    ``keys`` finds the hub's internal key by id (None when not trusted).
    """
    if stored is None or row is None:
        raise MalformedRecordError("a deletion or a row without a key: the hub writes neither")
    value = value_of(stored)
    key_id = stored[4:12].hex()
    key = keys(key_id)
    if key is None:
        raise UnknownKeyError(key_id)
    expected = key.mac(_statement(row, stored[:-MAC_SIZE]))
    if not hmac.compare_digest(expected, stored[-MAC_SIZE:]):
        raise BadSignatureError(f"table value MAC does not verify under key {key_id}")
    return value


def _statement(row: Row, body: bytes) -> bytes:
    return _row_statement(_bound(row.table, row.partition), row.key, body)


def _row_statement(bound: bytes, row: bytes, body: bytes) -> bytes:
    """The MAC's statement: the table's partition (:func:`_bound`), the row key, the body."""
    return bound + _ROW.pack(len(row)) + row + body


@lru_cache(maxsize=1024)
def _bound(table: str, partition: int) -> bytes:
    """The statement's start for a table's partition (the same for each of its rows)."""
    name = table.encode("utf-8")
    bind = _BIND.pack(len(name), partition)
    return DOMAIN + bind[:2] + name + bind[2:]


@lru_cache(maxsize=64)
def _key_id(key_id: str) -> bytes:
    return bytes.fromhex(key_id)
