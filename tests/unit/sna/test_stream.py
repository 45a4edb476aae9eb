"""SNA counts kept in the stream (``hub.sna.stream``) and read back from their changelog
(``hub.sna.snapshot``): exact under redelivery and crashes, refusing what does not verify.

A simulated worker processes accepted records (each holding events of known verdicts) in
partition order, crashes at arbitrary points and is redelivered from arbitrary earlier
offsets, as at-least-once delivery allows; every table write is appended to a changelog. The
counts read back must equal a direct count of the records below the cut-off they report.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.crypto.secret import HmacKey
from hub.crypto.tablevalue import Row, seal_value, value_of
from hub.errors import HubError
from hub.sna import Cell, Counted, Period
from hub.sna.count import Verdict, add
from hub.sna.snapshot import Snapshot
from hub.sna.stream import TABLE, Mark, Tallied, advance, row_key, verdict_of

KEY = HmacKey(b"\x0b" * 32)
MALLORY = HmacKey(b"\x66" * 32)
PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))
VERDICTS = (
    Verdict("2026-11-03", Cell("E06000038", "E01016400", "2026-11", "t", "police", "14-17"), "a@1"),
    Verdict(
        "2026-11-04", Cell("E06000038", "E01016400", "2026-11", "t", "health", "unknown"), "b@2"
    ),
    Verdict("2026-11-20", excluded="consent_record"),
    Verdict("2026-12-01", Cell("E06000041", "E01016500", "2026-12", "t", "police", "25+"), "a@1"),
)
Changelog = list[tuple[int, bytes, bytes]]


def keys(key_id: str) -> HmacKey | None:
    return KEY if key_id == KEY.key_id else None


def process(
    records: list[list[int]],
    table: dict[bytes, bytes],
    log: Changelog,
    stop: int,
    start: int = 0,
) -> int:
    """Process ``records`` (verdict indexes) from offset ``start`` of partition 0 as the agent
    does, stopping after ``stop`` events; returns the offset of the record it stopped in."""
    done, partition = 0, 0
    for offset, items in enumerate(records):
        if offset < start:
            continue
        for i, v in enumerate(items):
            if done == stop:
                return offset
            done += 1
            key = row_key(partition, VERDICTS[v])
            held = table.get(key)
            updated = advance(
                None if held is None else Tallied.from_bytes(held), Mark(offset, i, len(items))
            )
            if updated is not None:
                table[key] = updated.to_bytes()
                sealed = seal_value(KEY, Row(TABLE, partition, key), offset, updated.to_bytes())
                log.append((partition, key, sealed))
    return len(records)


def direct(records: list[list[int]], cutoff: int) -> Counted:
    counted = Counted()
    for items in records[:cutoff]:
        for v in items:
            if PERIOD.start.isoformat() <= VERDICTS[v].day <= PERIOD.end.isoformat():
                add(counted, VERDICTS[v])
    return counted


def read(log: Changelog) -> Snapshot:
    snapshot = Snapshot(keys)
    for partition, key, value in log:
        snapshot.add(partition, key, value)
    return snapshot


records_st = st.lists(
    st.lists(st.integers(0, len(VERDICTS) - 1), min_size=1, max_size=3), max_size=12
)


@settings(max_examples=150, deadline=None)
@given(records_st, st.lists(st.tuples(st.integers(0, 40), st.integers(0, 12)), max_size=3))
def test_counts_are_exact_under_crashes_and_redelivery(
    records: list[list[int]], crashes: list[tuple[int, int]]
) -> None:
    """Each crash stops the worker after some events; the table is rebuilt from the
    changelog (last write wins) and processing resumes from an earlier committed offset."""
    log: Changelog = []
    table: dict[bytes, bytes] = {}
    resume = 0
    for stop, back in crashes:
        reached = process(records, table, log, stop, resume)
        table = {key: value_of(value).value for _, key, value in log}  # recovery: last wins
        resume = max(0, reached - back)  # the committed offset is at or before it
    process(records, table, log, 10**6, resume)
    snapshot = read(log)
    cutoff = snapshot.cutoff().get(0, 0)
    assert cutoff == (len(records) if records else 0)
    counted = snapshot.counted(PERIOD, {0: cutoff})
    expected = direct(records, cutoff)
    assert counted.cells == expected.cells
    assert counted.excluded == expected.excluded
    assert counted.agreements == expected.agreements


@settings(max_examples=150, deadline=None)
@given(records_st, st.integers(0, 40))
def test_a_release_mid_record_counts_exactly_the_records_below_its_cutoff(
    records: list[list[int]], stop: int
) -> None:
    log: Changelog = []
    process(records, {}, log, stop)
    snapshot = read(log)
    cutoff = snapshot.cutoff().get(0, 0)
    done = sum(len(r) for r in records[:cutoff])
    assert done <= stop
    counted = snapshot.counted(PERIOD, {0: cutoff})
    assert Counter(counted.cells) == direct(records, cutoff).cells
    assert counted.excluded == direct(records, cutoff).excluded


def test_a_forged_moved_or_foreign_value_is_refused_and_an_old_one_does_not_roll_back() -> None:
    log: Changelog = []
    process([[0], [0], [0]], {}, log, 10**6)
    snapshot = read(log)
    key = row_key(0, VERDICTS[0])
    old = log[0][2]
    snapshot.add(0, key, old)  # a genuine old value appended again: kept out by its mark
    assert snapshot.counted(PERIOD, snapshot.cutoff()).total == 3
    forged = seal_value(MALLORY, Row(TABLE, 0, key), 9, Tallied(99, Mark(9, 0), 0).to_bytes())
    moved = row_key(1, VERDICTS[0])
    probes = [
        (0, key, forged),  # wrong key
        (0, key, old[:-1] + bytes([old[-1] ^ 1])),  # a bit flipped
        (1, key, old),  # another partition's changelog
        (0, moved, old),  # another row
        (0, key, None),  # a deletion
        (0, None, old),  # no row key
    ]
    for partition, row, value in probes:
        with pytest.raises(HubError):
            snapshot.add(partition, row, value)
    assert snapshot.counted(PERIOD, snapshot.cutoff()).total == 3


def test_row_keys_round_trip_and_junk_is_refused() -> None:
    for verdict in VERDICTS:
        assert verdict_of(row_key(3, verdict)) == (3, verdict)
    for junk in (b"", b"\xff", b"[]", b'[0, "c", "2026-11-01"]', b'["0", "x", "d", "r"]'):
        with pytest.raises(HubError):
            verdict_of(junk)
