"""SNA counts kept in the stream (``hub.sna.stream``) and read back from their changelog
(``hub.sna.snapshot``): exact under redelivery, crashes and events accepted twice, refusing
what does not verify.

A simulated worker processes accepted records (each holding real events) in partition order
as the correlate agent does (:func:`hub.sna.stream.tally`, the real classification under the
shipped agreements), crashes at arbitrary points and is redelivered from arbitrary earlier
offsets, as at-least-once delivery allows; every table write is appended to a changelog. A
record may hold an event already accepted at an earlier offset (ingest redelivered its feed
record), and the agreements in force may change in between (the copy would be classified
otherwise). The counts read back must equal the auditor's recount
(:func:`hub.sna.count.count` over each event id's first occurrence) below the cut-off they
report.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.config import Settings
from hub.crypto.packedrows import encode_rows, pack_key
from hub.crypto.secret import HmacKey
from hub.crypto.tablevalue import Row, seal_value, value_of
from hub.dsa import AgreementBook, Evaluator
from hub.errors import HubError
from hub.geo import AreaLookup
from hub.models import Event, validate_event
from hub.sna import CountContext, Counted, Located, Period, count
from hub.sna.changelog import ReadCounts
from hub.sna.snapshot import Snapshot
from hub.sna.stream import (
    TABLE,
    Counting,
    Mark,
    Place,
    Remembered,
    Tallied,
    digest_of,
    key_of,
    place_of,
    tally,
)
from hub.transport import Record
from tests import shipped
from tests.integration.events import (
    OXFORDSHIRE_LSOA,
    READING_LSOA,
    STORE,
    WOKINGHAM_LSOA,
    record,
)
from tests.unit.dsa.builders import registry

KEY = HmacKey(b"\x0b" * 32)
MALLORY = HmacKey(b"\x66" * 32)
PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))
READ_AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
AGREEMENTS = list(shipped.agreements())
ALL = Evaluator(AgreementBook.from_agreements(AGREEMENTS), registry())
WITHOUT_S17A = Evaluator(
    AgreementBook.from_agreements(a for a in AGREEMENTS if a.id != "tv-s17a-needs-assessment"),
    registry(),
)
AREAS = AreaLookup.from_data_dir(Settings().data_dir)


def _event(event_type: str, agency: str, lsoa: str, seed: int, day: date) -> Event:
    occurred = datetime(day.year, day.month, day.day, 14, seed, tzinfo=UTC)
    rec = record(event_type, agency, lsoa, seed, occurred=occurred)
    rec["envelope"]["key_id"] = "k1"
    return validate_event(STORE.decode(STORE.encode(event_type, rec)), clock=None)


#: Two police events sharing a row, one in another council, an ED assault (area level), one
#: outside every partnership's area, one outside the period.
EVENTS = (
    _event("police.violent_incident", "police", READING_LSOA, 1, date(2026, 11, 3)),
    _event("police.violent_incident", "police", READING_LSOA, 2, date(2026, 11, 3)),
    _event("police.violent_incident", "police", WOKINGHAM_LSOA, 3, date(2026, 11, 4)),
    _event("health.ed_assault", "health", OXFORDSHIRE_LSOA, 4, date(2026, 11, 20)),
    _event("police.violent_incident", "police", "E01999999", 5, date(2026, 11, 21)),
    _event("police.violent_incident", "police", READING_LSOA, 6, date(2026, 12, 1)),
)
Changelog = list[tuple[int, bytes, bytes]]


def keys(key_id: str) -> HmacKey | None:
    return KEY if key_id == KEY.key_id else None


def context(switch: int) -> CountContext:
    """Counting under every shipped agreement, and without the s17A one from ``switch`` on."""
    return CountContext(
        AREAS, registry(), lambda _, offset: ALL if offset < switch else WITHOUT_S17A
    )


def process(
    records: list[list[int]],
    table: dict[bytes, bytes],
    log: Changelog,
    counter: CountContext,
    *,
    stop: int,
    start: int = 0,
) -> int:
    """Process ``records`` (event indexes) from offset ``start`` of partition 0 as the agent
    does, stopping after ``stop`` events; returns the offset of the record it stopped in."""
    done, partition = 0, 0
    for offset, items in enumerate(records):
        if offset < start:
            continue
        for i, e in enumerate(items):
            if done == stop:
                return offset
            done += 1
            seen = Located(partition, offset, READ_AT + timedelta(minutes=offset), EVENTS[e])
            counted = tally(seen, Mark(offset, i, len(items)), counter, table.get)
            if counted is not None:
                key, updated = counted
                table[key] = updated.to_bytes()
                sealed = seal_value(KEY, Row(TABLE, partition, key), offset, updated.to_bytes())
                log.append((partition, key, sealed))
    return len(records)


def recount(records: list[list[int]], cutoff: int, counter: CountContext) -> Counted:
    """What the auditor counts: each event id's first occurrence, below the cut-off."""
    first: dict[str, Located] = {}
    for offset, items in enumerate(records):
        for e in items:
            seen = Located(0, offset, READ_AT + timedelta(minutes=offset), EVENTS[e])
            first.setdefault(EVENTS[e].event_id, seen)
    return count(first.values(), PERIOD, {0: cutoff}, counter)


def read(log: Changelog) -> Snapshot:
    snapshot = Snapshot(keys)
    for partition, key, value in log:
        snapshot.add(partition, key, value)
    return snapshot


def agree(snapshot: Snapshot, records: list[list[int]], counter: CountContext) -> Counted:
    cutoff = snapshot.cutoff().get(0, 0)
    counted = snapshot.counted(PERIOD, {0: cutoff})
    expected = recount(records, cutoff, counter)
    assert counted.cells == expected.cells
    assert counted.excluded == expected.excluded
    assert counted.agreements == expected.agreements
    return counted


records_st = st.lists(
    st.lists(st.integers(0, len(EVENTS) - 1), min_size=1, max_size=3), max_size=12
)


@settings(max_examples=150, deadline=None)
@given(
    records_st,
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 12), st.integers(0, 3)), max_size=3),
    st.integers(0, 13),
)
def test_counts_equal_the_recount_under_crashes_redelivery_and_events_accepted_twice(
    records: list[list[int]], crashes: list[tuple[int, int, int]], switch: int
) -> None:
    """Each crash stops the worker after some events and loses its last few table writes
    (never sent); the table is rebuilt from the changelog (last write wins) and processing
    resumes from an earlier committed offset, at or before the first write lost. The same
    event may occur in several records; the agreements change at ``switch``."""
    counter = context(switch)
    log: Changelog = []
    table: dict[bytes, bytes] = {}
    resume = 0
    for stop, back, lost in crashes:
        reached = process(records, table, log, counter, stop=stop, start=resume)
        committed = max(0, reached - back)
        if lost and len(log) >= lost:
            committed = min(committed, value_of(log[-lost][2]).version)
            del log[-lost:]
        table = {key: value_of(value).value for _, key, value in log}  # recovery: last wins
        resume = committed
    process(records, table, log, counter, stop=10**6, start=resume)
    snapshot = read(log)
    assert snapshot.cutoff().get(0, 0) == len(records)
    agree(snapshot, records, counter)


@settings(max_examples=150, deadline=None)
@given(records_st, st.integers(0, 40), st.integers(0, 13))
def test_a_release_mid_record_counts_exactly_the_records_below_its_cutoff(
    records: list[list[int]], stop: int, switch: int
) -> None:
    counter = context(switch)
    log: Changelog = []
    process(records, {}, log, counter, stop=stop)
    snapshot = read(log)
    cutoff = snapshot.cutoff().get(0, 0)
    assert sum(len(r) for r in records[:cutoff]) <= stop
    agree(snapshot, records, counter)


@settings(max_examples=150, deadline=None)
@given(records_st, st.integers(0, 13))
def test_counting_a_record_at_once_writes_what_tallying_each_event_writes(
    records: list[list[int]], switch: int
) -> None:
    """:class:`Counting` decides each (type, agency, council, age) once under the agreements
    in force, remembered across records as the worker does; the rows it leaves are those
    :func:`tally` leaves event by event, whether the record's events share a row, repeat an
    event, or follow an agreement switch."""
    counter = context(switch)
    expected: dict[bytes, bytes] = {}
    process(records, expected, [], counter, stop=10**6)
    table: dict[bytes, bytes] = {}
    remembered = Remembered()
    for offset, items in enumerate(records):
        counting = Counting(counter, table.get, remembered)
        for i, e in enumerate(items):
            at = READ_AT + timedelta(minutes=offset)
            counting.add_read(EVENTS[e], 0, at, Mark(offset, i, len(items)))
        table |= {key: row.to_bytes() for key, row in counting.changed().items()}
    assert table == expected


@settings(max_examples=150, deadline=None)
@given(records_st, st.integers(0, 13))
def test_counting_a_records_events_together_writes_what_counting_each_writes(
    records: list[list[int]], switch: int
) -> None:
    """:meth:`Counting.add_record` (the record's outcomes and lookups found once, as the
    service counts) leaves the rows :func:`tally` leaves event by event, and the same as
    :meth:`Counting.add_read` for each event: rows shared, events repeated, a switch."""
    counter = context(switch)
    expected: dict[bytes, bytes] = {}
    process(records, expected, [], counter, stop=10**6)
    table: dict[bytes, bytes] = {}
    each: dict[bytes, bytes] = {}
    remembered, remembered_each = Remembered(), Remembered()
    for offset, items in enumerate(records):
        at = READ_AT + timedelta(minutes=offset)
        counting = Counting(counter, table.get, remembered)
        councils = counting.add_record([EVENTS[e] for e in items], 0, offset, at)
        # each event's council, as correlation folds it with (AreaLookup.council of its LSOA)
        assert councils == [AREAS.council(EVENTS[e].envelope.lsoa) for e in items]
        table |= {key: row.to_bytes() for key, row in counting.changed().items()}
        one_by_one = Counting(counter, each.get, remembered_each)
        for i, e in enumerate(items):
            one_by_one.add_read(EVENTS[e], 0, at, Mark(offset, i, len(items)))
        assert counting.changed() == one_by_one.changed()
        each |= {key: row.to_bytes() for key, row in one_by_one.changed().items()}
    assert table == expected


def test_a_record_without_events_counts_nothing_and_asks_no_agreements() -> None:
    """An empty record moves no row and, as event by event, never asks the agreements in
    force at its position (a position they could not be found for changes nothing)."""
    asked: list[tuple[int, int]] = []

    def evaluator_at(partition: int, offset: int) -> Evaluator:
        asked.append((partition, offset))
        return ALL

    counting = Counting(CountContext(AREAS, registry(), evaluator_at), {}.get, Remembered())
    counting.add_record([], 0, 7, READ_AT)
    assert counting.changed() == {}
    assert asked == []
    counting.add_record([EVENTS[0]], 0, 8, READ_AT)
    assert set(asked) == {(0, 8)}  # asked at the record's position only
    assert len(counting.changed()) == 1


def test_an_event_accepted_again_later_is_counted_once_under_its_first_agreements() -> None:
    """Event 0 at offset 0, then a redelivered batch (0, 1, 2) at offset 3, after the s17A
    agreement stopped applying at offset 2: event 0 counts once, as permitted at offset 0
    (its copy, classified at offset 3, would be left out)."""
    records = [[0], [3], [4], [0, 1, 2], [5]]
    counter = context(2)
    log: Changelog = []
    table: dict[bytes, bytes] = {}
    process(records, table, log, counter, stop=10**6)
    written = len(log)
    process(records, table, log, counter, stop=10**6)  # everything redelivered: nothing written
    assert len(log) == written
    snapshot = read(log)
    assert snapshot.cutoff() == {0: len(records)}
    counted = agree(snapshot, records, counter)
    assert counted.agreements == {"tv-s17a-needs-assessment@1", "tv-health-ed-assault@1"}
    assert counted.total == 2  # events 0 (police, under s17A) and 3 (ED assault)
    assert counted.excluded == {"purpose_not_covered": 2, "outside_area": 1}  # 1, 2; 4
    key = Place(0, "2026-11-03", "E06000038", READING_LSOA, *_cell_of(EVENTS[0])).key()
    row = Tallied.from_bytes(table[key])
    assert row.count == 2  # events 0 and 1, each once
    assert row.holds(digest_of(EVENTS[0].event_id))
    assert row.holds(digest_of(EVENTS[1].event_id))
    assert row.below(len(records)) == {
        "c:tv-s17a-needs-assessment@1": 1,
        "x:purpose_not_covered": 1,
    }
    assert row.below(3) == {"c:tv-s17a-needs-assessment@1": 1}  # before the batch at 3


def _cell_of(event: Event) -> tuple[str, str, str]:
    return event.event_type, event.envelope.agency_id, "14-17"


def test_an_event_repeated_at_the_end_of_a_record_still_moves_the_cutoff_on() -> None:
    """A record ending in a copy writes the row's position, so the release covers it."""
    records = [[0], [1, 0]]
    counter = context(99)
    log: Changelog = []
    process(records, {}, log, counter, stop=10**6)
    snapshot = read(log)
    assert snapshot.cutoff() == {0: 2}
    assert agree(snapshot, records, counter).total == 2


def test_a_forged_moved_or_foreign_value_is_refused_and_an_old_one_does_not_roll_back() -> None:
    log: Changelog = []
    process([[0], [1], [0, 1]], {}, log, context(99), stop=10**6)
    snapshot = read(log)
    key = log[0][1]
    old = log[0][2]
    snapshot.add(0, key, old)  # a genuine old value appended again: kept out by its mark
    assert snapshot.counted(PERIOD, snapshot.cutoff()).total == 2
    body = Tallied(Mark(9, 0), 0, ("c:x@1",), b"\x00\x00" + b"\x01" * 16).to_bytes()
    forged = seal_value(MALLORY, Row(TABLE, 0, key), 9, body)
    moved = Place.from_key(key)
    moved_key = Place(1, *[getattr(moved, f) for f in Place.__slots__[1:]]).key()
    probes = [
        (0, key, forged),  # wrong key
        (0, key, old[:-1] + bytes([old[-1] ^ 1])),  # a bit flipped
        (1, key, old),  # another partition's changelog
        (0, moved_key, old),  # another row
        (0, key, None),  # a deletion
        (0, None, old),  # no row key
    ]
    for partition, row, value in probes:
        with pytest.raises(HubError):
            snapshot.add(partition, row, value)
    assert snapshot.counted(PERIOD, snapshot.cutoff()).total == 2


def test_row_keys_and_values_round_trip_and_junk_is_refused() -> None:
    place = Place(3, "2026-11-03", "E06000038", READING_LSOA, "t", "police", "14-17")
    assert Place.from_key(place.key()) == place
    for junk in (b"", b"\xff", b"[]", b'[0, "2026-11-01"]', b'["0","d","c","l","t","a","b"]'):
        with pytest.raises(HubError):
            Place.from_key(junk)
    value = Tallied(Mark(5, 1, 2), 1, ("c:a@1", "x:r"), b"\x00\x01" + b"\x02" * 16 + b"\x00" * 18)
    assert Tallied.from_bytes(value.to_bytes()) == value
    raw = value.to_bytes()
    for junk in (b"", raw[:-1], raw[:20], raw[:-18] + b"\x00\x05" + b"\x00" * 16):
        with pytest.raises(HubError):
            Tallied.from_bytes(junk)
    with pytest.raises(HubError):
        place.verdict("?")


def test_the_export_reader_expands_packs_and_refuses_a_bad_one_or_a_forged_row_alone() -> None:
    """`hub sna export` reads packed count rows as the worker writes them: the same counts as
    plain rows; a pack that does not parse is refused whole, a forged row in a pack alone."""
    records = [[0], [1], [0, 1, 2, 3]]
    log: Changelog = []
    process(records, {}, log, context(99), stop=10**6)
    plain = read(log)
    found = ReadCounts(Snapshot(keys))
    rows = [(key, value) for _, key, value in log]
    forged = seal_value(MALLORY, Row(TABLE, 0, rows[0][0]), 99, b"\x00")
    written = [
        (pack_key(0, 0, ()), encode_rows(rows)),
        (pack_key(1, 0, ()), encode_rows([rows[-1], (rows[0][0], forged)])),
        (pack_key(2, 0, ()), b"VRP1\x00\x00\x00\x09"),  # nine rows promised, none there
    ]
    for offset, (key, value) in enumerate(written):
        found.visit(Record(Settings().changelog_topic(TABLE), 0, offset, key, value))
    assert found.refused == 2  # the forged row and the malformed pack
    assert found.snapshot.cutoff() == plain.cutoff() == {0: len(records)}
    assert found.snapshot.counted(PERIOD, {0: 3}) == plain.counted(PERIOD, {0: 3})


def test_an_events_row_key_is_its_place_s_key() -> None:
    """``key_of`` writes the key without building the Place: the same bytes, in or out of a
    council, and with every age band (the ages the load spans, and none)."""
    for event in EVENTS:
        for council in (AREAS.council(event.envelope.lsoa), None, "E06000038"):
            for age in (None, 0, 9, 10, 13, 14, 17, 18, 24, 25, 120):
                aged = event.model_copy(
                    update={"envelope": event.envelope.model_copy(update={"age": age})}
                )
                assert key_of(2, aged, council) == place_of(2, aged, council).key()


def test_a_row_key_escapes_what_json_escapes() -> None:
    """``key_of`` remembers its texts; texts JSON must escape (non-ASCII, quotes, control
    characters) and a day before year 1000 still give the :class:`Place`'s key."""
    event = EVENTS[0]
    odd = {
        "lsoa": 'E0\u0661\u0662"3\\4\n',
        "agency_id": "agenc\u00e9",
        "occurred_at": datetime(999, 1, 2, tzinfo=UTC),
    }
    aged = event.model_copy(update={"envelope": event.envelope.model_copy(update=odd)})
    for council in (None, "", 'E0\u00e9"6', AREAS.council(event.envelope.lsoa)):
        assert key_of(0, aged, council) == place_of(0, aged, council).key()
        assert key_of(5, event, council) == place_of(5, event, council).key()
