"""Sharded replays whose processes index their own partitions, against the one-process replay
(review of ``hub.audit.shard``'s scoped histories, ``hub.audit.history.Scope``).

Over a simulated ledger with tampered entries and accepted streams changed in ways that make
one partition's answer differ from the whole topic's (an event redelivered in another partition
before or after its first occurrence, a subject's consent events in two partitions, undecodable
and refused records, an event of one partition named by an entry of another), for two to four
shards: either :func:`hub.audit.shard.conflict` names a reason (the replay falls back to one
process), or the merged report and counts are the one-process replay's, byte for byte.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable, Iterable

import orjson
import pytest

from hub.audit.history import StreamRecord
from hub.audit.report import ReplayReport
from hub.audit.shard import conflict, merge, merged_counts, planned
from hub.crypto import HmacKey
from hub.crypto.record import Kind, Place, moment_of, parse
from hub.crypto.trust import seal_record
from tests.unit.audit.simulated import (
    ACCEPTED_TOPIC,
    INTERNAL_KEY,
    ReplaySource,
    Simulator,
    consent,
    simulated,
)
from tests.unit.audit.test_shard import tampered

SMALL = 1_500
EXTRA = 7
"""A partition no entry names (so the first shard's scope, ``others``)."""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Simulator:
    return simulated(tmp_path_factory.mktemp("keys"), SMALL)


def _sealed(
    partition: int, offset: int, millis: int, items: tuple[bytes, ...], key: HmacKey
) -> StreamRecord:
    place = Place(ACCEPTED_TOPIC, partition)
    value = seal_record(Kind.EVENTS, moment_of(millis), items, place, key)
    return StreamRecord(partition, offset, millis, Kind.EVENTS.value, b"review", value)


def _inserted(
    source: ReplaySource,
    at: int,
    partition: int,
    items: tuple[bytes, ...],
    key: HmacKey = INTERNAL_KEY,
) -> ReplaySource:
    """The source with one more events record in ``partition``, read at index ``at`` of the
    accepted stream (its offset after every record of the partition read before it: a
    partition whose records all come later must be one no record uses yet)."""
    accepted = list(source.accepted)
    before = [r.offset for r in accepted[:at] if r.partition == partition]
    after = [r for r in accepted[at:] if r.partition == partition]
    assert not after, "the partition's records must stay in offset order"
    millis = accepted[min(at, len(accepted) - 1)].timestamp_ms
    record = _sealed(partition, 1 + max(before, default=-1), millis, items, key)
    accepted.insert(at, record)
    return dataclasses.replace(source, accepted=tuple(accepted))


def _first_event(values: list[bytes], shard: list[int]) -> str:
    """The first event id an entry of the shard names (one that is JSON and names some)."""
    for n in shard:
        try:
            raw = json.loads(values[n])
        except ValueError:
            continue
        if isinstance(raw, dict) and raw.get("events") and isinstance(raw["events"], list):
            return str(raw["events"][0])
    raise AssertionError("no entry names an event")


def _where(source: ReplaySource, sim: Simulator, event_id: str) -> tuple[int, StreamRecord]:
    found = sim.history().event(event_id)
    assert found is not None
    return next(
        (i, r)
        for i, r in enumerate(source.accepted)
        if (r.partition, r.offset) == (found.partition, found.offset)
    )


def _compare(
    source: ReplaySource,
    values: list[bytes],
    workers: Iterable[int],
    serial: tuple[ReplayReport, dict[str, int]] | None = None,
) -> list[str | None]:
    """For each number of workers, the conflict the scoped shards report, having checked that
    without one their merged report and counts are the one-process replay's (``serial``,
    when the caller has it already: replayed once, not once per number of workers)."""
    if serial is None:
        replayer = source()
        serial = replayer.replay(values), replayer.history_counts()
    expected, counts = serial[0].to_json(), serial[1]
    whys = []
    for count in workers:
        shards, scopes = planned(values, count)
        results = []
        for shard, scope in zip(shards, scopes, strict=True):
            replayer = source.scoped(scope)
            results.append(replayer.shard([(n, values[n]) for n in shard]))
        why = conflict(results)
        if why is None:
            assert merge(results, ()).to_json() == expected
            assert merged_counts(results) == counts
        whys.append(why)
    return whys


Change = Callable[[Simulator, ReplaySource, list[bytes]], tuple[ReplaySource, list[bytes]]]


def _copy_early_in_extra(
    sim: Simulator, source: ReplaySource, values: list[bytes]
) -> tuple[ReplaySource, list[bytes]]:
    """An entry's event sent again in a partition no entry names, read before its first
    occurrence: the whole topic's first occurrence is the copy."""
    shards, _ = planned(values, 2)
    at, record = _where(source, sim, _first_event(values, shards[1]))
    return _inserted(source, at, EXTRA, parse(record.value).items), values


def _copy_late_in_extra(
    sim: Simulator, source: ReplaySource, values: list[bytes]
) -> tuple[ReplaySource, list[bytes]]:
    shards, _ = planned(values, 2)
    _, record = _where(source, sim, _first_event(values, shards[1]))
    return _inserted(source, len(source.accepted), EXTRA, parse(record.value).items), values


def _copy_in_other_shard(
    sim: Simulator, source: ReplaySource, values: list[bytes]
) -> tuple[ReplaySource, list[bytes]]:
    shards, scopes = planned(values, 2)
    _, record = _where(source, sim, _first_event(values, shards[1]))
    partition = min(scopes[0].partitions ^ {0, 1, 2, 3} or {0})
    return _inserted(source, len(source.accepted), partition, parse(record.value).items), values


def _consent_early_in_extra(
    sim: Simulator, source: ReplaySource, values: list[bytes]
) -> tuple[ReplaySource, list[bytes]]:
    """A consent event of an entry's subject read, in a partition no entry names, before any
    of the subject's records: the whole topic's consent events of it are that partition's."""
    shards, _ = planned(values, 2)
    _, record = _where(source, sim, _first_event(values, shards[1]))
    found = sim.history().event(_first_event(values, shards[1]))
    assert found is not None
    assert found.event.subject_token is not None
    given = consent(
        sim.store, found.event.subject_token, "review", moment_of(record.timestamp_ms), given=True
    )
    return _inserted(source, 0, EXTRA, (given,)), values


def _undecodable_and_refused(
    sim: Simulator, source: ReplaySource, values: list[bytes]
) -> tuple[ReplaySource, list[bytes]]:
    """An undecodable item in a partition of each shard, and a record sealed with another key."""
    source = _inserted(source, len(source.accepted), 0, (b"not avro",))
    source = _inserted(source, len(source.accepted), 3, (b"not avro either",))
    _, record = _where(source, sim, _first_event(values, list(range(len(values)))))
    other = HmacKey(b"\x0b" * 32)
    source = _inserted(source, len(source.accepted), EXTRA, parse(record.value).items, other)
    _, scopes = planned(values, 2)  # and one in the second shard's partition (its counts)
    late = min(scopes[1].partitions)
    source = _inserted(source, len(source.accepted), late, parse(record.value).items, other)
    return source, values


def _cross_partition_entries(
    sim: Simulator, source: ReplaySource, values: list[bytes]
) -> tuple[ReplaySource, list[bytes]]:
    """Entries naming, besides their own events, an event read in another shard's partition."""
    values = list(values)
    shards, _ = planned(values, 2)
    foreign = _first_event(values, shards[1])
    for n in shards[0][3:40:9]:
        raw = json.loads(values[n])
        if raw.get("events"):
            raw["events"] = [*raw["events"][:-1], foreign]
            values[n] = orjson.dumps(raw)
    return source, values


CHANGES: dict[str, Change] = {
    "copy_early_in_extra": _copy_early_in_extra,
    "copy_late_in_extra": _copy_late_in_extra,
    "copy_in_other_shard": _copy_in_other_shard,
    "consent_early_in_extra": _consent_early_in_extra,
    "undecodable_and_refused": _undecodable_and_refused,
    "cross_partition_entries": _cross_partition_entries,
}


def test_the_tampered_ledger_is_replayed_in_scoped_shards(small: Simulator) -> None:
    values, _ = tampered(small)
    assert _compare(small.source(), values, (2, 3, 4)) == [None, None, None]


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_changed_stream_falls_back_or_gives_the_serial_report(
    small: Simulator, name: str
) -> None:
    values, _ = tampered(small)
    source, values = CHANGES[name](small, small.source(), values)
    _compare(source, values, (2, 3, 4))


def test_random_redeliveries_fall_back_or_give_the_serial_report(small: Simulator) -> None:
    """Events records sent again, whole, in random partitions at random places (the extra
    partition anywhere, the others at their end); the ledger tampered."""
    base, _ = tampered(small)
    answered = 0
    for seed in range(6):
        rng = random.Random(seed)
        source = small.source()
        events = [r for r in source.accepted if parse(r.value).kind is Kind.EVENTS]
        for _ in range(rng.randint(1, 4)):
            items = parse(rng.choice(events).value).items
            if rng.random() < 0.5:
                extra = [i for i, r in enumerate(source.accepted) if r.partition == EXTRA]
                at = rng.randrange(1 + max(extra, default=-1), len(source.accepted) + 1)
                source = _inserted(source, at, EXTRA, items)
            else:
                source = _inserted(source, len(source.accepted), rng.randrange(4), items)
        if _compare(source, base, [rng.choice((2, 3, 4))]) == [None]:
            answered += 1
    assert answered  # some changes leave every shard's answers the whole topic's


def _release(cutoff: dict[int, int]) -> bytes:
    """A release record (``hub.sna.release``) over the simulated period, its figures wrong."""
    return orjson.dumps(
        {
            "kind": "sna.release",
            "decision_id": "review20b-release",
            "query": {
                "from": "2026-09-01",
                "to": "2027-03-01",
                "by": "council",
                "cutoff": {str(p): o for p, o in sorted(cutoff.items())},
            },
            "figures_digest": "0" * 64,
            "counted": 0,
            "excluded": {},
            "agreements": [],
        }
    )


@pytest.mark.parametrize("where", ["first", "last"])
def test_a_release_entry_counts_every_partitions_events(small: Simulator, where: str) -> None:
    """A release counts the events of every partition (``History.located``): a shard whose
    history indexes its own partitions alone must not answer it (the replay falls back)."""
    values, _ = tampered(small)
    cutoff = dict.fromkeys(range(4), 10**9)
    release = _release(cutoff)
    values = [release, *values] if where == "first" else [*values, release]
    serial = small.source()()
    report = serial.replay(values)
    counted = [m for m in report.mismatches if m.decision_id == "review20b-release"]
    assert {m.field for m in counted} >= {"counted"}  # the recorded figures are wrong
    whys = _compare(small.source(), values, (2, 3), (report, serial.history_counts()))
    assert None not in whys
