"""A sharded replay's processes each index their own accepted partitions (``hub.audit.shard``).

Each shard's history reads only the partitions of its entries (the first shard every other
one); asked about an event or a position out of them it reads the rest then
(``History._complete``). The report and the history's counts must be the serial replay's:
on the tampered ledger of ``test_shard.py`` (whose probes name events of other subjects, in
other partitions), and, falling back to one process, when an event is redelivered in
another shard's partition or a subject's consent events are in two shards' partitions.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from hub.audit.history import History, Scope, StreamRecord
from hub.audit.shard import conflict, merge, merged_counts, planned
from hub.crypto.record import Kind, Place, moment_of, parse
from hub.crypto.trust import seal_record
from tests.unit.audit.simulated import (
    ACCEPTED_TOPIC,
    INTERNAL_KEY,
    ReplaySource,
    Simulator,
    consent,
)
from tests.unit.audit.test_shard import serial_of_tampered, tampered


@pytest.fixture(scope="module")
def small(shared_small: Simulator) -> Simulator:
    """The session's simulated run of 3,000 decisions (``conftest.py``): read, never changed."""
    return shared_small


def scoped_shards(source: ReplaySource, values: list[bytes]) -> tuple[list, list[History]]:
    """Each shard replayed in this process by a replayer of its own scope, and its history."""
    shards, scopes = planned(values, 2)
    assert len(shards) == 2
    results, histories = [], []
    for shard, scope in zip(shards, scopes, strict=True):
        replayer = source.scoped(scope)
        results.append(replayer.shard([(n, values[n]) for n in shard]))
        histories.append(replayer.rederiver.history)
    return results, histories


def with_record(source: ReplaySource, partition: int, items: tuple[bytes, ...]) -> ReplaySource:
    """The source with one more accepted record of events, at the end of a partition."""
    last = source.accepted[-1]
    offset = 1 + max(r.offset for r in source.accepted if r.partition == partition)
    millis = last.timestamp_ms + 1_000
    place = Place(ACCEPTED_TOPIC, partition)
    value = seal_record(Kind.EVENTS, moment_of(millis), items, place, INTERNAL_KEY)
    record = StreamRecord(partition, offset, millis, Kind.EVENTS.value, b"copy", value)
    return dataclasses.replace(source, accepted=(*source.accepted, record))


def test_scoped_shards_of_a_tampered_ledger_give_the_serial_report(small: Simulator) -> None:
    values, changed = tampered(small)
    expected, counts = serial_of_tampered(small)
    results, histories = scoped_shards(small.source(), values)
    assert conflict(results) is None
    assert merge(results, ()).to_json() == expected.to_json()
    assert merged_counts(results) == counts
    assert {m.decision_id for m in expected.mismatches} >= changed
    # each shard indexed its own partitions, and one read the others for an event named there
    assert all(h.scope is not None for h in histories)
    assert sum(h.records for h in histories) == counts["records"]
    assert any(h.completed for h in histories)


def test_a_scoped_history_answers_out_of_scope_as_the_whole_stream(small: Simulator) -> None:
    whole = small.history()
    source = small.source()
    scope = Scope(frozenset({0}))
    history = source.scoped(scope).rederiver.history
    assert not history.completed
    own = [r for r in source.accepted if r.partition == 0]
    assert history.records == len(own)
    other = next(r for r in source.accepted if r.partition != 0)
    assert history.timestamp(other.partition, other.offset) == whole.timestamp(
        other.partition, other.offset
    )
    assert history.completed
    assert history.records == len(own)  # the counts stay its own partitions'
    assert history.indexed().strayed is False


def redelivered(small: Simulator) -> tuple[ReplaySource, list[bytes], str]:
    """The source with the first event of the first shard's first entry sent again in a
    partition of the second shard; the entries; that event's id."""
    values = list(small.decisions)
    shards, scopes = planned(values, 2)
    event_id = json.loads(values[shards[0][0]])["events"][0]
    found = small.history().event(event_id)
    assert found is not None
    place = (found.partition, found.offset)
    record = next(r for r in small.accepted if (r.partition, r.offset) == place)
    source = with_record(small.source(), min(scopes[1].partitions), parse(record.value).items)
    return source, values, event_id


def test_an_event_redelivered_in_another_shards_partition_falls_back(small: Simulator) -> None:
    """The serial replay reads an entry's event at its first occurrence; a shard whose
    partitions hold only a later copy would not: the replay runs in one process."""
    source, values, _ = redelivered(small)
    results, histories = scoped_shards(source, values)
    assert not any(h.completed for h in histories)
    assert conflict(results) == "an event a shard looked up is in another shard's partitions"


def test_a_shard_reading_other_partitions_that_hold_its_events_falls_back(
    small: Simulator,
) -> None:
    """A shard that reads the other partitions (an entry names an event found nowhere)
    and finds there an event its own partitions hold cannot tell which came first."""
    source, values, event_id = redelivered(small)
    shards, _ = planned(values, 2)
    raw = json.loads(values[shards[0][1]])
    raw["events"] = ["no-such-event"]
    values[shards[0][1]] = json.dumps(raw).encode()
    results, histories = scoped_shards(source, values)
    assert histories[0].completed
    assert event_id in results[0].reach.held_events
    assert conflict(results) == (
        "an event or a subject a shard's history read is in two shards' partitions"
    )


def test_a_subjects_consent_events_in_two_shards_partitions_fall_back(small: Simulator) -> None:
    values = list(small.decisions)
    shards, scopes = planned(values, 2)
    event_id = json.loads(values[shards[0][0]])["events"][0]
    found = small.history().event(event_id)
    assert found is not None
    assert found.event.subject_token is not None
    at = moment_of(small.accepted[-1].timestamp_ms)
    given = consent(small.store, found.event.subject_token, "copy", at, given=True)
    source = with_record(small.source(), min(scopes[1].partitions), (given,))
    results, histories = scoped_shards(source, values)
    assert not any(h.completed for h in histories)
    assert conflict(results) == "a subject's consent events are in another shard's partitions"
