"""A batch of events in one accepted record, through the real worker and broker.

Ingest is moving to one accepted record per destination partition per input batch; the
correlate agent already takes such records: three young people's events in one record give
each partnership every flag once, numbered gap-free from packed outbox records, and the
record's decisions arrive as one decisions record.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord

from hub.config import Settings
from hub.crypto.record import Kind, parse
from hub.process import stop_process
from hub.transport.partitioner import partition_for
from tests.integration.attack import produce_raw
from tests.integration.events import token_for
from tests.integration.flows import (
    SCENARIO,
    alerts_only,
    open_records,
    prepare,
    scenario_record,
    worker,
)
from tests.integration.kafka import consume, read_to_end, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
PARTITION = 0
Records = list[ConsumerRecord[bytes, bytes]]


async def test_one_record_of_many_events_gives_every_flag_once_from_packed_records(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    seeds = [n for n in range(300, 400) if partition_for(token_for(n).encode(), s.partitions) == 0]
    value, ids = scenario_record(s, seeds[:3], range(len(SCENARIO)), datetime.now(UTC), PARTITION)
    proc = worker(s, tmp_path / "worker.log")
    try:
        await produce_raw(s, s.accepted_topic, [(b"batch", value, [], PARTITION)])
        reading = await consume(s, [s.alert_topic("reading")], until=6, timeout_s=120)

        def decided(records: Records) -> bool:
            return any(ids & set(d["events"]) for d in _decisions(records))

        decisions = await wait_for(s, [s.decisions_topic], decided, 60)
        outbox = await read_to_end(s, [s.outbox_topic])
    finally:
        assert stop_process(proc) == 0
    opened = open_records(s, "reading", alerts_only(reading))
    assert Counter(a.body.rule.id for a in opened) == {
        "child-exploitation": 3,
        "weapon-and-exclusion": 3,
    }
    assert [a.seq for a in opened] == [1, 2, 3, 4, 5, 6]
    assert len({a.body.subject for a in opened}) == 3
    packed = [parse(r.value or b"") for r in outbox]
    # One record for all six (at least once: a redelivered batch writes the same record again).
    assert {len(p.items) for p in packed if p.kind is Kind.ALERTS} == {6}
    # The batch's decisions are those taken at its position (a tick's are at the tick's).
    at = min(
        (d["position"]["offset"], n)
        for n, r in enumerate(decisions)
        for d in _decisions([r])
        if ids & set(d["events"])
    )
    ours = [r for r in decisions if any(d["position"]["offset"] == at[0] for d in _decisions([r]))]
    # The record's decisions, every subject's, in one record (again if it was redelivered):
    # two flags for each of three subjects.
    assert ours
    assert all(len({d["flag_id"] for d in _decisions([r])}) == 6 for r in ours)


def _decisions(records: Records) -> list[dict[str, Any]]:
    found = []
    for r in records:
        parsed = parse(r.value or b"")
        if parsed.kind is Kind.DECISIONS:
            found += [json.loads(i) for i in parsed.items]
    return found
