"""Ingest of batch feed records: one seal check per record, every event judged alone.

A bad event is quarantined alone and its quarantine record names the record's position and
the event's index; the good ones go out as one accepted record per destination partition,
in input order, at the hub's clock. A record whose signature fails is quarantined as one.
De-duplication stores one row per feed record and survives a restart.
"""

from __future__ import annotations

import atexit
import dataclasses
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.agency import AgencyClient, EventDraft, agency_keys, draft_of
from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import Keyring, create_dev_keyring
from hub.crypto.batchrecord import encode_batch_record, parse_batch_record
from hub.crypto.keyring import agency_owner
from hub.crypto.record import parse
from hub.feeds.police import police_events
from hub.feeds.sample import write_sample_data
from hub.geo import AreaLookup
from hub.ingest import SEAL_HEADER, FeedMessage, Ingest, IngestContext, RecordOutcome
from hub.quarantine import REASONS, QuarantineRecord, SourceRef
from hub.registry import load_registry
from hub.runtime import load_ingest_context
from hub.seen import SeenEvents
from hub.transport.partitioner import partition_for

ROOT = Path(__file__).resolve().parents[3]
WORK = Path(tempfile.mkdtemp(prefix="batch-ingest-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)  # made at import, removed at exit
REGISTRY = load_registry(ROOT / "deploy" / "registry.yaml")
create_dev_keyring(WORK / "keys", REGISTRY, datetime.now(UTC))
DATA = write_sample_data(WORK / "data", REGISTRY, rows=120)
SETTINGS = Settings(
    deploy_dir=ROOT / "deploy", schemas_dir=ROOT / "schemas", keys_dir=WORK / "keys", data_dir=DATA
)
STORE = SchemaStore.load(SETTINGS.schemas_dir)
KEYRING = Keyring.open(SETTINGS.keys_dir)
NOW = datetime(2031, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
TOPIC = SETTINGS.feed_topic("police")


def _police_drafts(n: int) -> list[EventDraft]:
    """Valid police drafts (their order is the feed's)."""
    areas = AreaLookup.from_data_dir(DATA)
    month = datetime.now(UTC) - timedelta(days=100)
    csv = next((DATA / "police").glob("*.csv"))
    return [draft_of(e) for e in police_events(csv, areas, STORE, rebase_to=month)][:n]


DRAFTS = _police_drafts(24)
CLIENT = AgencyClient(agency_keys(KEYRING, "police"), STORE)
VALUES = [CLIENT.prepare(d).value for d in DRAFTS]
SIGNING = KEYRING.signing_key(agency_owner("police"))


def _flip_last_byte(value: bytes) -> bytes:
    """The record with its signature's last byte changed, whatever that byte was."""
    return value[:-1] + bytes([value[-1] ^ 1])


def context() -> IngestContext:
    return dataclasses.replace(load_ingest_context(SETTINGS), clock=lambda: NOW)


def ingest() -> Ingest:
    return Ingest(context())


def message(value: bytes, offset: int = 7, agency: str = "police") -> FeedMessage:
    source = SourceRef(topic=SETTINGS.feed_topic(agency), partition=2, offset=offset)
    return FeedMessage(value, b"k", (), source, agency, received_at=datetime.now(UTC))


def items_by_partition(outcome: RecordOutcome) -> dict[int, tuple[bytes, ...]]:
    accepted = [m for m in outcome.messages if m.topic == SETTINGS.accepted_topic]
    assert len({m.partition for m in accepted}) == len(accepted)  # one record per partition
    return {m.partition: parse(m.value).items for m in accepted if m.partition is not None}


def quarantined(outcome: RecordOutcome) -> list[QuarantineRecord]:
    return [
        QuarantineRecord.from_bytes(m.value)
        for m in outcome.messages
        if m.topic == SETTINGS.quarantine_topic
    ]


def test_a_good_batch_is_accepted_per_partition_in_input_order() -> None:
    hub = ingest()
    value = encode_batch_record(VALUES, SIGNING, "police")
    outcome = hub.process_record(message(value), SeenEvents({}))
    assert [o.status for o in outcome.outcomes] == ["accepted"] * len(VALUES)
    assert [o.index for o in outcome.outcomes] == list(range(len(VALUES)))
    groups = items_by_partition(outcome)
    assert sorted(v for items in groups.values() for v in items) == sorted(VALUES)
    for items in groups.values():  # each partition's events in the order the batch had them
        assert [VALUES.index(v) for v in items] == sorted(VALUES.index(v) for v in items)
    assert len(groups) > 1
    for m in outcome.messages:
        assert parse(m.value).at == NOW.replace(microsecond=678000)
        assert dict(m.headers)["vru-source"] == f"{TOPIC}:2:7".encode()


def test_one_signature_check_per_batch_record() -> None:
    ctx = context()
    hub, verifier = Ingest(ctx), ctx.verifier
    before = verifier.signature_checks
    hub.process_record(message(encode_batch_record(VALUES, SIGNING, "police")), SeenEvents({}))
    assert verifier.signature_checks == before + 1


def test_a_bad_event_is_quarantined_alone_with_its_position_and_index() -> None:
    values = [*VALUES[:3], b"\xc3\x01not avro", *VALUES[3:6]]
    outcome = ingest().process_record(
        message(encode_batch_record(values, SIGNING, "police")), SeenEvents({})
    )
    statuses = [(o.index, o.status, o.reason) for o in outcome.outcomes]
    assert [s for s in statuses if s[1] == "quarantined"] == [(3, "quarantined", "unknown_schema")]
    (record,) = quarantined(outcome)
    assert (record.source.topic, record.source.partition, record.source.offset) == (TOPIC, 2, 7)
    assert record.source.index == 3
    assert record.source.position == f"{TOPIC}:2:7:3"
    assert record.original == b"\xc3\x01not avro"
    assert sum(len(items) for items in items_by_partition(outcome).values()) == 6


def test_a_quarantined_event_redrives_alone_with_its_derived_seal() -> None:
    values = [VALUES[0], VALUES[1], VALUES[0]]  # the same event twice in one batch
    hub = ingest()
    outcome = hub.process_record(
        message(encode_batch_record(values, SIGNING, "police")), SeenEvents({})
    )
    assert [o.reason for o in outcome.outcomes] == ["accepted", "accepted", "duplicate_event"]
    (record,) = quarantined(outcome)
    assert record.source.index == 2
    assert SEAL_HEADER in dict(record.original_headers)
    redriven = FeedMessage(
        record.original, record.key, tuple(record.original_headers), record.source, "police"
    )
    assert hub.process_record(redriven, SeenEvents({})).accepted == 1


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(
            _flip_last_byte(encode_batch_record(VALUES[:4], SIGNING, "police")),
            "bad_signature",
            id="signature",
        ),
        pytest.param(
            encode_batch_record(VALUES[:4], KEYRING.signing_key(agency_owner("health")), "health"),
            "agency_mismatch",
            id="another-agency",
        ),
        pytest.param(b"VRB1\x06police", "decode_error", id="truncated"),
    ],
)
def test_a_record_that_fails_as_a_whole_is_quarantined_as_one(value: bytes, reason: str) -> None:
    outcome = ingest().process_record(message(value), SeenEvents({}))
    (only,) = outcome.outcomes
    assert (only.status, only.reason, only.index) == ("quarantined", reason, None)
    (record,) = quarantined(outcome)
    assert record.source.index is None
    assert record.original == value
    assert outcome.accepted == 0


def test_a_redelivered_record_is_accepted_again_and_a_copy_elsewhere_is_duplicate() -> None:
    rows: dict[str, str] = {}
    value = encode_batch_record(VALUES[:5], SIGNING, "police")
    assert ingest().process_record(message(value), SeenEvents(rows)).accepted == 5
    assert len(rows) == 1  # one stored row for the record, not one per event
    restarted = SeenEvents(rows)  # a new worker: the index is rebuilt from the rows
    hub = ingest()
    assert hub.process_record(message(value), restarted).accepted == 5
    copy = hub.process_record(message(value, offset=8), restarted)
    assert {o.reason for o in copy.outcomes} == {"duplicate_event"}
    assert len(rows) == 1


def test_single_event_records_still_work_beside_batches() -> None:
    rows: dict[str, str] = {}
    seen = SeenEvents(rows)
    hub = ingest()
    singles = CLIENT.messages(DRAFTS[:3])
    for offset, m in enumerate(singles):
        single = FeedMessage(m.value, m.key, m.headers, message(b"", offset).source, "police")
        outcome = hub.process_record(single, seen)
        assert (outcome.accepted, outcome.outcomes[0].index) == (1, None)
    value = encode_batch_record(VALUES[:5], SIGNING, "police")
    batch = hub.process_record(message(value, offset=3), seen)
    assert [o.reason for o in batch.outcomes] == ["duplicate_event"] * 3 + ["accepted"] * 2
    assert sorted(rows) == [f"{TOPIC}:2:{n}" for n in range(4)]


def test_the_sdk_batch_record_carries_the_same_sealed_batch_as_its_messages() -> None:
    client = AgencyClient(agency_keys(KEYRING, "police"), STORE, partitions=4)
    batches = list(client.batches(enumerate(DRAFTS, start=1)))
    assert sum(b.record.events for b in batches if b.record) == len(DRAFTS)
    for b in batches:
        assert b.record is not None
        record = parse_batch_record(b.record.value)
        assert record.events == tuple(m.value for m in b.messages)
        assert {partition_for(m.key, 4) for m in b.messages} == {b.record.partition}
    assert sum(b.lines for b in batches) == len(DRAFTS)


GOOD_RECORD = encode_batch_record(VALUES[:6], SIGNING, "police")
FUZZED = ingest()


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_a_mutated_batch_record_never_raises_and_never_is_an_internal_error(
    data: st.DataObject,
) -> None:
    raw = bytearray(GOOD_RECORD)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw) - 1))
        kind = data.draw(st.sampled_from(("flip", "truncate", "insert", "delete")))
        if kind == "flip":
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "truncate":
            del raw[at:]
        elif kind == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        elif raw:
            del raw[at]
        if not raw:
            raw = bytearray(b"VRB1")
    outcome = FUZZED.process_record(message(bytes(raw)), SeenEvents({}))
    for one in outcome.outcomes:
        assert one.status == "accepted" or one.reason in REASONS - {"internal_error"}
    assert len(outcome.messages) >= 1


@pytest.mark.parametrize(
    ("ahead", "reason"),
    [(timedelta(days=3653 + 200), "event_too_old"), (-timedelta(days=400), "event_in_future")],
)
def test_timeliness_is_judged_by_the_context_clock_not_the_wall_clock(
    ahead: timedelta, reason: str
) -> None:
    """A backtest's or a benchmark's clock decides what is too old or in the future."""
    at = datetime.now(UTC) + ahead  # events recorded about 100 days ago, judged at ``at``
    hub = Ingest(dataclasses.replace(load_ingest_context(SETTINGS), clock=lambda: at))
    batch = hub.process_record(
        message(encode_batch_record(VALUES[:2], SIGNING, "police")), SeenEvents({})
    )
    assert [o.reason for o in batch.outcomes] == [reason] * 2
    single = CLIENT.messages(DRAFTS[2:3])[0]
    one = FeedMessage(single.value, single.key, single.headers, message(b"", 9).source, "police")
    assert [o.reason for o in hub.process_record(one, SeenEvents({})).outcomes] == [reason]


def test_an_lsoa_outside_every_partnership_is_refused_every_time_and_not_kept() -> None:
    """The LSOAs ingest remembers as covered or not are the area lookup's: an LSOA outside it
    is refused each time (``unknown_area``) and never kept, however many a feed invents."""
    hub = ingest()
    invented = [
        CLIENT.prepare(dataclasses.replace(d, lsoa=f"E0{9_000_000 + i:07d}")).value
        for i, d in enumerate(DRAFTS[:4])
    ]
    for attempt in range(2):
        value = encode_batch_record([*invented, VALUES[0]], SIGNING, "police")
        outcome = hub.process_record(message(value, offset=20 + attempt), SeenEvents({}))
        reasons = [o.reason for o in outcome.outcomes]
        assert reasons == ["unknown_area"] * 4 + ["accepted"]
    assert set(hub._covered) == {DRAFTS[0].lsoa}
    assert hub._covered[DRAFTS[0].lsoa] is True


@pytest.mark.parametrize(
    ("agency", "reason", "detail"),
    [
        ("health", "agency_mismatch", "event claims another agency than feed 'police'"),
        ("nobody", "unknown_agency", "event names an agency that is not onboarded"),
    ],
)
def test_an_event_of_another_agency_in_a_batch_is_refused_as_before(
    agency: str, reason: str, detail: str
) -> None:
    """The batch's own agency is checked once per event by equality; any other agency
    still gets the reason and words of the full check (onboarded or not)."""
    decoded = STORE.decode(VALUES[1])
    record = {**decoded.record, "envelope": {**decoded.record["envelope"], "agency_id": agency}}
    other = STORE.encode(decoded.event_type, record)
    values = [VALUES[0], other, VALUES[2]]
    outcome = ingest().process_record(
        message(encode_batch_record(values, SIGNING, "police")), SeenEvents({})
    )
    refused = [(o.index, o.reason, o.error) for o in outcome.outcomes if o.status != "accepted"]
    assert refused == [(1, reason, detail)]
    (record_q,) = quarantined(outcome)
    assert (record_q.reason, record_q.detail, record_q.original) == (reason, detail, other)
