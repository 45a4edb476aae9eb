"""Batch records in a backtest: the seal checked once per record, and still checked.

Tamper probes: a record whose signature is broken, one with an event's bytes changed after
sealing, one on another agency's feed, and a single message that claims (by its seal header)
to be an event of a record the run verified when it is not. Each is refused with the reason
the live hub gives, once per event; the other events run as before.
"""

from __future__ import annotations

import pytest

from hub.agency import FeedMessage as SealedMessage
from hub.backtest import Backtest, BacktestSetup, Period, Policy
from hub.backtest.batches import BATCH_EVENT, events_of, sealed_event, single_events
from hub.backtest.plan import Sealed
from hub.backtest.run import _feed_message
from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto.batchrecord import BatchRecord, is_batch_record, parse_batch_record
from hub.ingest import SEAL_HEADER, FeedMessage
from hub.quarantine import SourceRef
from tests.unit.backtest.test_backtest import T0, demo_chunks, sample_settings

PERIOD = Period.parse("2026-09-01", "2026-09-30")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return sample_settings(tmp_path_factory.mktemp("batches"), rows=400)


@pytest.fixture(scope="module")
def month(settings: Settings) -> list[Sealed]:
    [chunk] = demo_chunks(settings, PERIOD)
    return chunk


@pytest.fixture(scope="module")
def base(settings: Settings, month: list[Sealed]) -> Backtest:
    """The month run as sealed: what each probe's run is compared with (read only)."""
    return _run(settings, month)


def _run(settings: Settings, chunk: list[Sealed]) -> Backtest:
    runner = Backtest(BacktestSetup.load(settings, Policy.CURRENT, PERIOD, T0), PERIOD)
    runner.feed(chunk)
    return runner


def _records(chunk: list[Sealed]) -> list[int]:
    """The places of the chunk's batch records that hold more than one event."""
    return [
        n
        for n, (_, m) in enumerate(chunk)
        if is_batch_record(m.value) and len(parse_batch_record(m.value).events) > 1
    ]


def _with(
    chunk: list[Sealed], n: int, record: BatchRecord, agency: str | None = None
) -> list[Sealed]:
    was_agency, was = chunk[n]
    message = SealedMessage(was.key, record.to_bytes(), was.headers, None, len(record.events))
    return [*chunk[:n], (agency or was_agency, message), *chunk[n + 1 :]]


def test_batch_records_count_what_single_events_count(
    settings: Settings, month: list[Sealed], base: Backtest
) -> None:
    assert _records(month)  # the SDK sends batch records
    singles = [(agency, m) for agency, record in month for m in single_events(record)]
    as_records, as_singles = base, _run(settings, singles)
    assert as_records.read == as_singles.read == len(singles)
    assert as_records.tally == as_singles.tally
    assert sum(as_records.tally.events.values()) > 0
    assert not as_records.tally.quarantined


@pytest.mark.parametrize("probe", ["signature", "event", "agency"])
def test_a_tampered_record_is_refused_event_by_event(
    settings: Settings, month: list[Sealed], base: Backtest, probe: str
) -> None:
    n = _records(month)[0]
    agency, message = month[n]
    record = parse_batch_record(message.value)
    if probe == "signature":
        tampered = BatchRecord(
            record.agency_id,
            record.key_id,
            record.batch_id,
            record.events,
            bytes([record.signature[0] ^ 1]) + record.signature[1:],
        )
    elif probe == "event":
        first = record.events[0]
        events = (first[:-1] + bytes([first[-1] ^ 1]), *record.events[1:])
        tampered = BatchRecord(
            record.agency_id, record.key_id, record.batch_id, events, record.signature
        )
    else:
        tampered = record
    other = next(a for a, _ in month if a != agency)
    chunk = _with(month, n, tampered, other if probe == "agency" else None)
    runner = _run(settings, chunk)
    refused = runner.tally.quarantined
    lost = sum(base.tally.events.values()) - sum(runner.tally.events.values())
    assert lost == sum(refused.values()) > 0  # the record's events in the period, each refused
    assert runner.read == base.read
    reason = "agency_mismatch" if probe == "agency" else "bad_signature"
    assert refused[reason] >= lost - (probe == "event")  # a changed event may not even decode


def test_a_message_that_claims_a_verified_record_it_is_not_in_is_refused(
    settings: Settings, month: list[Sealed], base: Backtest
) -> None:
    n = _records(month)[0]
    agency, message = month[n]
    store = SchemaStore.load(settings.schemas_dir)
    event = next(  # one the run takes (its time in the period)
        e
        for e, _ in events_of(message)
        if PERIOD.contains(store.decode(e.value).record["envelope"]["recorded_at"])
    )
    changed = event.value[:-1] + bytes([event.value[-1] ^ 1])
    forged = SealedMessage(event.key, changed, ((SEAL_HEADER, BATCH_EVENT),))
    runner = _run(settings, [*month, (agency, forged)])
    assert runner.read == base.read + 1
    assert runner.tally.quarantined == {"bad_signature": 1}
    assert runner.tally.events == base.tally.events


def test_a_record_that_does_not_parse_is_refused_whole(
    settings: Settings, month: list[Sealed], base: Backtest
) -> None:
    n = _records(month)[0]
    agency, message = month[n]
    broken = SealedMessage(message.key, message.value[:-10], message.headers)
    runner = _run(settings, [*month[:n], (agency, broken), *month[n + 1 :]])
    assert sum(runner.tally.quarantined.values()) == 1
    assert runner.read == base.read - len(parse_batch_record(message.value).events) + 1


def test_an_exact_copy_of_a_verified_event_marked_as_a_batchs_is_refused(
    settings: Settings, month: list[Sealed], base: Backtest
) -> None:
    """The mark vouches for an event only inside the record the runner opened for it: the
    same bytes sent alone with the mark are refused, as the live hub refuses that seal."""
    n = _records(month)[0]
    agency, message = month[n]
    store = SchemaStore.load(settings.schemas_dir)
    event = next(
        e
        for e, _ in events_of(message)
        if PERIOD.contains(store.decode(e.value).record["envelope"]["recorded_at"])
    )
    copy = SealedMessage(event.key, event.value, ((SEAL_HEADER, BATCH_EVENT),))
    runner = _run(settings, [*month, (agency, copy)])
    assert runner.tally.quarantined == {"bad_signature": 1}
    assert runner.tally.events == base.tally.events


def test_a_copy_of_a_record_on_another_agencys_feed_does_not_refuse_the_genuine_one(
    settings: Settings, month: list[Sealed], base: Backtest
) -> None:
    """Opened first (the same times, earlier in the chunk), the copy is refused on the other
    feed; the genuine record on its own feed is still verified and its events counted."""
    n = _records(month)[0]
    agency, message = month[n]
    other = next(a for a, _ in month if a != agency)
    runner = _run(settings, [*month[:n], (other, message), *month[n:]])
    assert set(runner.tally.quarantined) == {"agency_mismatch"}
    assert runner.tally.events == base.tally.events
    assert sum(base.tally.events.values()) > 0


def test_messages_made_through_their_slots_equal_the_ones_their_init_makes() -> None:
    """The planner's and the runner's per-event messages (:func:`sealed_event`,
    ``run._feed_message``) are the objects the dataclasses' own ``__init__`` makes."""
    headers = (("a", b"1"), (SEAL_HEADER, BATCH_EVENT))
    made = sealed_event(b"key", b"value", headers)
    assert made == SealedMessage(b"key", b"value", headers)
    assert (made.partition, made.events, made.seal) == (None, 1, BATCH_EVENT)
    source = SourceRef(topic="backtest.police", partition=0, offset=7)
    fed = _feed_message(made.value, made.key, made.headers, source, "police")
    assert fed == FeedMessage(b"value", b"key", headers, source, "police")
    assert fed.received_at is None
    assert fed.seal == BATCH_EVENT
