"""The correlation service over dict tables: what one accepted record sends and stores.

A record may carry a batch of events. Whatever the batching, the same events give the same
alerts, decisions and subject states; a batch reads and writes each row once, sends one
outbox record per outbox partition and one decisions record.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from hub.alerts import AlertBody, AlertKind
from hub.config import Settings
from hub.correlation import POLICY_KEY, Outcome, Received, Result
from hub.correlation.emission import RECORD_BUDGET, Emission, Sealer
from hub.crypto.record import Kind, Place, parse
from hub.crypto.tablevalue import value_of
from hub.dispatch import Step, SubjectState
from hub.hotspot import AreaState
from hub.policy import Switch
from hub.sequencer import Pending
from hub.sna.stream import TABLE as SNA_TABLE
from hub.sna.stream import Tallied
from hub.transport.partitioner import partition_for
from tests.unit.correlation.builders import (
    NOW,
    Barrier,
    Hub,
    assault,
    consent_event,
    decisions,
    event_of,
    events,
    in_partition,
    item,
    kinds,
    scenario,
    settings_in,
)

PARTITION = 0


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_in(tmp_path_factory.mktemp("correlation"))


def mixed_batch() -> list[bytes]:
    """Three subjects' scenarios interleaved, an area event, and a non-contributing event."""
    subjects = [scenario(seed) for seed in in_partition(PARTITION, 3)]
    interleaved = [e for group in zip(*subjects, strict=True) for e in group]
    other = in_partition(PARTITION, 1, first=500)[0]
    noise = item("csc.referral", "childrens-social-care", other, 3)  # in no rule
    return [*interleaved[:5], assault(77, 3), *interleaved[5:], noise]


async def test_a_batch_gives_what_the_same_events_give_one_record_each(settings: Settings) -> None:
    """Same alert ids and bodies, same decisions (but for where they were taken), same states
    and SNA counts, whether the events come in one record or in one record each."""
    batch = mixed_batch()
    together = Hub(settings)
    one = await together.run(events(batch))
    apart = Hub(settings)
    each = [await apart.run(events([e], offset=10 + n)) for n, e in enumerate(batch)]

    def alerts(hub: Hub, results: list[Result]) -> list[tuple[str, str, AlertBody]]:
        return [(pid, alert_id, body) for r in results for pid, alert_id, body in hub.alerts(r)]

    def taken(results: list[Result]) -> list[dict[str, Any]]:
        placeless = ("decision_id", "position")
        return [
            {k: v for k, v in d.items() if k not in placeless}
            for r in results
            for d in decisions(r)
        ]

    assert alerts(together, [one]) == alerts(apart, each)
    assert len(alerts(together, [one])) >= 4  # both flags for each of three subjects, at least
    assert taken([one]) == taken(each)
    assert taken([one])

    def states(table: dict[bytes, bytes]) -> dict[bytes, bytes]:
        return {k: value_of(v).value for k, v in table.items() if not k.startswith(b"__policy")}

    assert states(together.subjects) == states(apart.subjects)

    def counted(table: dict[bytes, bytes]) -> dict[bytes, bytes]:
        return {k: Tallied.from_bytes(value_of(v).value).entries for k, v in table.items()}

    assert counted(together.sna) == counted(apart.sna)
    assert one.outcome == Outcome(
        "events",
        policy=together.last,
        events=len(batch),
        alerts=len(alerts(together, [one])),
        not_contributing=one.outcome.not_contributing,
    )
    assert one.outcome.not_contributing >= 1


async def test_a_batch_reads_and_writes_each_row_once_and_packs_its_outputs(
    settings: Settings,
) -> None:
    class Counted(dict[bytes, bytes]):
        reads: Counter[bytes]

        def get(self, key: bytes, default: Any = None) -> Any:
            self.reads[key] += 1
            return super().get(key, default)

    table = Counted()
    table.reads = Counter()
    hub = Hub(settings, subjects=table)
    batch = mixed_batch()
    result = await hub.run(events(batch))
    assert table.reads
    assert max(table.reads.values()) == 1
    keys = [row.key for row in result.rows]
    assert len(keys) == len(set(keys))
    subjects = {event_of(i).subject_token for i in batch} - {None}
    written = {row.key.decode() for row in result.rows if row.table == "subjects"}
    assert subjects - written == {
        event_of(batch[-1]).subject_token
    }  # the one that contributed nothing
    partitions = [r.partition for r in result.outbox]
    assert len(partitions) == len(set(partitions))
    pids = {pid for pid, _, _ in hub.alerts(result)}
    assert set(partitions) == {partition_for(p.encode(), settings.partitions) for p in pids}
    for record in result.outbox:
        place = Place(settings.outbox_topic, record.partition)
        assert hub.keys.verifier.open(record.value, place, (Kind.ALERTS,))
    [ledger] = result.decisions
    assert hub.keys.verifier.open(
        ledger.value, Place(settings.decisions_topic, 0), (Kind.DECISIONS,)
    )
    assert len(parse(ledger.value).items) == len(result.decided)


async def test_a_redelivered_batch_resends_the_same_alert_ids_and_stores_the_same_state(
    settings: Settings,
) -> None:
    """A crash after the sends, before the rows: the record again, from the old rows."""
    hub = Hub(settings)
    batch = mixed_batch()
    first = await hub.service.process(events(batch))  # sent, never stored
    again = await hub.run(events(batch))
    ids = [a for _, a, _ in hub.alerts(first)]
    assert ids == [a for _, a, _ in hub.alerts(again)]
    assert [r.value for r in first.rows if r.table == "subjects"] == [
        r.value for r in again.rows if r.table == "subjects"
    ]
    later = await hub.run(events(batch))  # stored this time: redelivered events re-emit
    assert {a for _, a, _ in hub.alerts(later)} <= set(ids)
    assert later.rows
    assert all(value_of(r.value).version == 10 for r in later.rows if r.table == "subjects")


async def test_a_refused_record_changes_nothing(settings: Settings) -> None:
    hub = Hub(settings)
    value = bytearray(hub.sealed(tuple(scenario(in_partition(PARTITION, 1)[0])), PARTITION))
    value[-1] ^= 1
    place = Place(settings.accepted_topic, PARTITION)
    result = await hub.service.handle(bytes(value), place, 3)
    assert result.outcome.kind == "refused"
    assert result.outcome.reason == "bad_signature"
    assert (result.outbox, result.decisions, result.rows) == ((), (), ())
    other = Place(settings.accepted_topic, 1)  # genuine, but for another partition
    moved = await hub.service.handle(hub.sealed((), PARTITION, Kind.TICK), other, 4)
    assert moved.outcome.kind == "refused"
    assert (hub.subjects, hub.sna) == ({}, {})


async def test_a_genuine_record_is_verified_and_decided(settings: Settings) -> None:
    hub = Hub(settings)
    value = hub.sealed(tuple(scenario(in_partition(PARTITION, 1)[0])), PARTITION)
    result = await hub.service.handle(value, Place(settings.accepted_topic, PARTITION), 3)
    assert result.outcome.kind == "events"
    assert {(rule, kind) for _, rule, kind in kinds(hub, result)} == {
        ("child-exploitation", AlertKind.RAISED),
        ("weapon-and-exclusion", AlertKind.RAISED),
    }


async def test_a_switch_re_decides_every_subject_of_its_partition(settings: Settings) -> None:
    """Events before any agreement is switched to are disclosed to no one; the switch marker
    raises their flags and records the partition's sequence."""
    hub = Hub(settings, switched=False)
    seeds = in_partition(PARTITION, 2)
    before = await hub.run(events([e for s in seeds for e in scenario(s)]))
    assert hub.alerts(before) == []
    assert {d["outcome"] for d in decisions(before)} == {"deny"}
    marker = Switch(hub.last).to_bytes()
    switched = await hub.run(Received(Kind.SWITCH, (marker,), NOW, PARTITION, 20))
    assert switched.outcome.kind == "switch"
    assert switched.outcome.subjects_changed == len(seeds)
    raised = kinds(hub, switched)
    assert {rule for _, rule, _ in raised} == {"child-exploitation", "weapon-and-exclusion"}
    assert {kind for _, _, kind in raised} == {AlertKind.RAISED}
    assert {d["policy_sequence"] for d in decisions(switched)} == {hub.last}
    policy = hub.subjects[POLICY_KEY.format(partition=PARTITION).encode()]
    assert value_of(policy).value == str(hub.last).encode()
    assert hub.clock.sequence(PARTITION) == hub.last
    assert hub.clock.sequence(1) == 0  # the other partition has not read its marker


async def test_the_partition_sequence_comes_back_from_its_row(settings: Settings) -> None:
    """After a restart, a worker restores the sequence from the table before deciding."""
    first = Hub(settings, switched=False)
    marker = Switch(first.last).to_bytes()
    await first.run(Received(Kind.SWITCH, (marker,), NOW, PARTITION, 1))
    restarted = Hub(settings, switched=False, subjects=first.subjects)
    seed = in_partition(PARTITION, 1)[0]
    result = await restarted.run(events(scenario(seed), offset=2))
    assert result.outcome.policy == first.last
    assert kinds(restarted, result)


async def test_area_events_raise_one_area_alert_for_their_partnership(settings: Settings) -> None:
    """One a month for fourteen months, then six in a fortnight: one area.raised, for Reading."""
    hub = Hub(settings)
    quiet = [20 + 30 * month for month in range(14)]
    burst = [2 * k + 1 for k in range(6)]
    days = sorted(quiet + burst, reverse=True)
    result = await hub.run(events([assault(9000 + n, d) for n, d in enumerate(days)]))
    assert result.outcome.area_alerts == 1
    [(pid, _, body)] = hub.alerts(result)
    assert (pid, body.kind) == ("reading", AlertKind.AREA_RAISED)
    assert result.decisions == ()
    [row] = [r for r in result.rows if r.table == "subjects"]
    assert row.key.startswith(b"__area__:")
    again = await hub.run(events([assault(9000 + n, d) for n, d in enumerate(days)], offset=11))
    assert again.outcome.area_alerts == 0  # folded already: nothing raised twice
    assert len([r for r in result.rows if r.table == SNA_TABLE]) >= 1


async def test_an_area_event_that_raises_nothing_writes_its_row_and_emits_nothing(
    settings: Settings,
) -> None:
    """A lone assault: its LSOA's counts are written, no alert or decision; the same event
    again changes no count, so nothing at all is written or emitted."""
    hub = Hub(settings)
    first = await hub.run(events([assault(9100, 3)]))
    assert (first.outcome.area_alerts, hub.alerts(first), first.decisions) == (0, [], ())
    [row] = [r for r in first.rows if r.table == "subjects"]
    assert row.key.startswith(b"__area__:")
    again = await hub.run(events([assault(9100, 3)], offset=5))
    assert (again.outcome.area_alerts, hub.alerts(again), again.decisions) == (0, [], ())
    assert [r for r in again.rows if r.table == "subjects"] == []


async def test_an_area_event_older_than_the_kept_days_writes_its_row_with_since_moved_back(
    settings: Settings,
) -> None:
    """An event dated before the kept days changes only the area's ``since`` (no new id is
    remembered): the service still writes that row, so the area's first day is kept."""
    hub = Hub(settings)
    first = await hub.run(events([assault(9200, 3)]))
    [row] = [r for r in first.rows if r.table == "subjects"]
    before = AreaState.from_bytes(value_of(row.value).value)
    old = await hub.run(events([assault(9201, 1500)], offset=5))
    [moved] = [r for r in old.rows if r.table == "subjects"]
    assert moved.key == row.key
    after = AreaState.from_bytes(value_of(moved.value).value)
    assert after.seen == before.seen  # nothing counted or remembered
    assert after.since["health.ed_assault"] < before.since["health.ed_assault"]


RULE = "disengagement-and-violence"


def consented(seed: int) -> list[bytes]:
    """Consent given, then a disengagement and a weapon: the rule's flag rests on the consent."""
    return [
        consent_event(seed, f"c-{seed}", given=True, minutes_ago=600),
        item(
            "voluntary.engagement",
            "voluntary-sector",
            seed,
            0.2,
            n=1,
            fields={"stage": "DISENGAGED"},
        ),
        item("police.weapon_possession", "police", seed, 0.1, n=2),
    ]


async def test_a_withdrawal_received_on_its_feed_ends_the_flag_before_the_next_decision(
    settings: Settings,
) -> None:
    barrier = Barrier()
    hub = Hub(settings, consent=barrier)
    seed = in_partition(PARTITION, 1, first=60)[0]
    raised = await hub.run(events(consented(seed)))
    assert (("reading", RULE, AlertKind.RAISED)) in kinds(hub, raised)
    assert barrier.watermarks == 1  # one barrier for the whole record
    withdrawal = event_of(consent_event(seed, f"c-{seed}", given=False, minutes_ago=30))
    barrier.ends[withdrawal.subject_token or ""] = [withdrawal]
    closed = item(
        "voluntary.engagement",
        "voluntary-sector",
        seed,
        0.05,
        n=3,
        fields={"stage": "CLOSED_OTHER"},
    )
    result = await hub.run(events([closed], offset=11))
    assert ("reading", RULE, AlertKind.RETRACTED) in kinds(hub, result)
    mine = [d for d in decisions(result) if d["recipient"] == "reading" and d["rule_id"] == RULE]
    assert mine
    for decision in mine:
        assert [(c["status"], c["ended_event"]) for c in decision["consents"]] == [
            ("withdrawn", withdrawal.event_id)
        ]
        assert decision["consent_read"]["watermark"] == [
            {"topic": "feed.voluntary-sector", "partition": 0, "offset": 1}
        ]
    assert barrier.watermarks == 2


def test_alerts_past_the_budget_go_in_more_records_in_their_order(settings: Settings) -> None:
    hub = Hub(settings)
    s = settings
    sealer = Sealer(
        s.outbox_topic, s.decisions_topic, s.partitions, hub.keys.internal, hub.keys.hub
    )
    big = [Pending("reading", f"a{n}", b"x" * (RECORD_BUDGET // 2), ()) for n in range(3)]
    emission = Emission()
    emission.add(Step(SubjectState(), tuple(big), ()))
    records = emission.outbox(sealer, NOW)
    assert len(records) == 3  # each over half the budget once encoded: one per record
    assert {r.partition for r in records} == {partition_for(b"reading", s.partitions)}
    items = [Pending.from_bytes(i) for r in records for i in parse(r.value).items]
    assert [p.alert_id for p in items] == ["a0", "a1", "a2"]
    assert emission.ledger(sealer, NOW) == ()  # no decisions: no decisions record
