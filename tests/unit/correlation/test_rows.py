"""A record's table rows: a subject state read and left unchanged stays decoded for the next."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.correlation.rows import Rows, Where
from hub.crypto import HmacKey
from hub.crypto.tablevalue import Row, seal_value, value_of
from hub.disclosure import SubjectState

KEY = HmacKey(b"\x0b" * 32)
TOKEN = "lt1:0123456789abcdef:" + "a" * 52
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _rows(table: dict[bytes, bytes], offset: int) -> Rows:
    return Rows(table, Where("subjects", 0, offset), KEY)


def _store(table: dict[bytes, bytes], rows: Rows) -> None:
    for write in rows.writes():
        table[write.key] = write.value


def test_a_state_read_and_left_unchanged_is_not_parsed_again() -> None:
    state = SubjectState(floors={"p": {"r": AT}})
    data = state.to_bytes()
    table = {TOKEN.encode(): seal_value(KEY, Row("subjects", 0, TOKEN.encode()), 1, data)}
    first = _rows(table, 2)
    read = first.subject(TOKEN)
    assert read is state  # written by this process: remembered, taken by the read
    _store(table, first)  # nothing written: the state goes back to the decoded ones
    assert _rows(table, 3).subject(TOKEN) is state


def test_a_state_left_by_a_rescan_is_not_parsed_again() -> None:
    state = SubjectState(floors={"p": {"r": AT}})
    stored = seal_value(KEY, Row("subjects", 0, TOKEN.encode()), 1, state.to_bytes())
    rows = _rows({TOKEN.encode(): stored}, 2)
    assert rows.seen(TOKEN, stored) is state
    rows.forget(TOKEN)  # unchanged by the rescan
    assert _rows({TOKEN.encode(): stored}, 3).seen(TOKEN, stored) is state


def test_a_state_written_is_the_one_read_next() -> None:
    before = SubjectState(floors={"p": {"r": AT}})
    table = {
        TOKEN.encode(): seal_value(KEY, Row("subjects", 0, TOKEN.encode()), 1, before.to_bytes())
    }
    rows = _rows(table, 2)
    assert rows.subject(TOKEN) is before
    after = SubjectState(floors={"p": {"r": AT.replace(year=2027)}})
    rows.put(TOKEN, after)
    _store(table, rows)
    assert _rows(table, 3).subject(TOKEN) is after


def test_a_write_is_never_versioned_below_the_version_the_row_held() -> None:
    """A record at an offset below the row's version (a redelivery after a later record
    wrote it) writes at the row's version, read by whichever call reads the row first: an
    older value can never replace a newer one."""
    state = SubjectState(floors={"p": {"r": AT}})
    stored = seal_value(KEY, Row("subjects", 0, TOKEN.encode()), 10, state.to_bytes())
    area = "__area__:E01016500"
    area_stored = seal_value(KEY, Row("subjects", 0, area.encode()), 12, b"{}")
    for first in ("put", "subject", "raw"):
        rows = _rows({TOKEN.encode(): stored, area.encode(): area_stored}, 5)
        if first == "subject":
            rows.subject(TOKEN)
        elif first == "raw":
            rows.raw(TOKEN)
        rows.put(TOKEN, SubjectState(floors={"p": {"r": AT.replace(year=2027)}}))
        rows.raw(area)
        rows.put(area, b"{}")
        versions = {w.key: value_of(w.value).version for w in rows.writes()}
        assert versions == {TOKEN.encode(): 10, area.encode(): 12}, first
    fresh = _rows({}, 5)
    fresh.put(TOKEN, state)
    assert [value_of(w.value).version for w in fresh.writes()] == [5]  # a new row: its offset
