"""A planner reads each message's envelope alone (:mod:`hub.backtest.envelope`): the envelope
the whole decode gives, refused where the whole decode refuses its envelope, and the same
steps in one process (the whole decode kept for ingest) as across several (the envelope
alone), hostile messages included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hub.agency import FeedMessage as SealedMessage
from hub.backtest.envelope import EnvelopeRead, Envelopes, envelope_of
from hub.backtest.period import Period
from hub.backtest.plan import Planner, Sealed, Take
from hub.codec.single_object import HEADER_SIZE, WriterSchema, encode_body, frame
from hub.errors import DecodeError, UnknownSchemaError
from tests.integration.events import READING_LSOA, STORE, record

START = datetime(2026, 3, 1, tzinfo=UTC)
PERIOD = Period(date(2026, 3, 1), date(2026, 4, 30))
KINDS = (
    ("csc.missing_episode", "childrens-social-care"),
    ("police.weapon_possession", "police"),
    ("police.violent_incident", "police"),
    ("education.suspension", "education"),
    ("health.ed_assault", "health"),
)


def _value(n: int, days: float, **envelope: object) -> bytes:
    event_type, agency = KINDS[n % len(KINDS)]
    occurred = START + timedelta(days=days)
    rec = record(event_type, agency, READING_LSOA, n, occurred=occurred, **envelope)
    rec["envelope"]["key_id"] = "k1"
    version = 1 if n % 3 == 0 and event_type == "police.violent_incident" else None
    return STORE.encode(event_type, rec, version=version)


def _values() -> list[bytes]:
    return [_value(n, (n * 7.3) % 55) for n in range(40)]


def test_an_envelope_read_alone_is_the_one_the_whole_decode_gives() -> None:
    envelopes = Envelopes(STORE)
    values = _values()
    keys = {str(envelopes(v).key).split(":")[0] for v in values}
    assert keys == {"lt1", "area"}  # subjects' linkage tokens, and area events by their LSOA
    for value in values:
        assert envelopes(value) == envelope_of(STORE.decode(value).record["envelope"])
        assert envelopes.whole(value)


def test_an_envelope_that_does_not_read_or_contradicts_its_schema_is_refused() -> None:
    envelopes = Envelopes(STORE)
    value = _values()[0]
    with pytest.raises(UnknownSchemaError):
        envelopes(value[:2] + bytes(8) + value[HEADER_SIZE:])
    with pytest.raises(DecodeError):
        envelopes(value[: HEADER_SIZE + 20])  # cut inside the envelope
    with pytest.raises(DecodeError):
        envelopes(b"not an event")
    rec = STORE.decode(value).record
    rec["envelope"]["event_type"] = "police.arrest"  # written with another type's schema
    writer = WriterSchema.of(dict(STORE.schema(STORE.decode(value).event_type)))
    contradicting = frame(writer, encode_body(writer, rec))
    for read in (envelopes, STORE.decode):
        with pytest.raises(DecodeError, match="event_type contradicts"):
            read(contradicting)
    broken = value + b"\x00"  # the envelope reads, the whole does not
    assert envelopes(broken) == envelopes(value)
    assert not envelopes.whole(broken)


def _message(value: bytes) -> Sealed:
    return ("police", SealedMessage(b"key", value, ()))


def test_planners_take_the_same_steps_in_one_process_as_across_several() -> None:
    """A message whose envelope reads but whose body does not is ordered by its envelope
    inside the period, and taken at once (ingest refuses it) outside it; one that does not
    read at all is taken at once; a whole one outside the period is counted."""
    values = _values()
    broken_inside = _value(100, 20) + b"\x00"
    outside = _value(101, 70)
    broken_outside = _value(102, 75) + b"\x00"
    chunk = [_message(v) for v in [*values, broken_inside, outside, broken_outside, b"junk"]]
    envelopes = Envelopes(STORE)
    one = Planner(PERIOD, EnvelopeRead.ahead(envelopes, STORE.decode))
    across = Planner(PERIOD, EnvelopeRead.alone(envelopes))
    steps = one.steps(chunk)
    assert steps == across.steps(chunk)
    assert one.outside == across.outside == 1
    taken = [s for s in steps if isinstance(s, Take)]
    assert len(taken) == len(values) + 3
    at_once = [s.item[1].value for s in taken if s.key is None and s.event_id is None]
    assert at_once == [broken_outside, b"junk"]
    (ordered,) = [s for s in taken if s.item[1].value == broken_inside]
    assert ordered == Take(
        _message(broken_inside),
        ordered.offset,
        envelopes(broken_inside).recorded_at,
        envelopes(broken_inside).key,
        envelopes(broken_inside).event_id,
    )
    times = [s.now for s in taken if s.event_id is not None]
    assert times == sorted(times)
