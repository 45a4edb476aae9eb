"""add_record finds a new row's outcome from the record's remembered outcomes by a cell it
builds itself (type, agency, council, the evaluator's age band): events that differ only
by age, in every order, must come out as add_read and tally give them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.dsa import AgreementBook, Evaluator
from hub.dsa.document import AgeScope
from hub.models import Event, validate_event
from hub.sna import CountContext
from hub.sna.stream import Counting, Mark, Remembered
from tests.integration.events import READING_LSOA, STORE, WOKINGHAM_LSOA, record
from tests.unit.dsa.builders import registry
from tests.unit.sna.test_stream import AGREEMENTS, AREAS, EVENTS, READ_AT, WITHOUT_S17A

#: The s17A agreement scoped to ages 10 to 24: an SNA outcome that depends on the age band.
SCOPED = Evaluator(
    AgreementBook.from_agreements(
        a.model_copy(update={"age_scope": AgeScope(min=10, max=24)})
        if a.id == "tv-s17a-needs-assessment"
        else a
        for a in AGREEMENTS
    ),
    registry(),
)


def context(switch: int) -> CountContext:
    return CountContext(
        AREAS, registry(), lambda _, offset: SCOPED if offset < switch else WITHOUT_S17A
    )


def _aged(seed: int, age: int | None, lsoa: str = READING_LSOA) -> Event:
    occurred = datetime(2026, 11, 3, 14, seed, tzinfo=UTC)
    rec = record("police.violent_incident", "police", lsoa, seed, occurred=occurred, age=age)
    rec["envelope"]["key_id"] = "k1"
    return validate_event(STORE.decode(STORE.encode("police.violent_incident", rec)), clock=None)


AGED = (
    *EVENTS,
    _aged(11, None),
    _aged(12, 9),  # below the police agreements' age scope (10 to 24)
    _aged(13, 30),  # above it
    _aged(14, 9, WOKINGHAM_LSOA),
    _aged(15, 17),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, len(AGED) - 1), min_size=1, max_size=4), max_size=8),
    st.integers(0, 9),
)
def test_events_of_other_ages_in_one_record_are_counted_as_each_alone(
    records: list[list[int]], switch: int
) -> None:
    counter = context(switch)
    table: dict[bytes, bytes] = {}
    each: dict[bytes, bytes] = {}
    remembered, remembered_each = Remembered(), Remembered()
    for offset, items in enumerate(records):
        at = READ_AT + timedelta(minutes=offset)
        together = Counting(counter, table.get, remembered)
        together.add_record([AGED[e] for e in items], 0, offset, at)
        apart = Counting(counter, each.get, remembered_each)
        for i, e in enumerate(items):
            apart.add_read(AGED[e], 0, at, Mark(offset, i, len(items)))
        assert together.changed() == apart.changed()
        table |= {k: row.to_bytes() for k, row in together.changed().items()}
        each |= {k: row.to_bytes() for k, row in apart.changed().items()}
