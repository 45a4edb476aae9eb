"""Risk flags end to end on the real broker: three agencies, one subject, the right partnership."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hub.config import Settings
from hub.process import stop_process
from hub.quarantine import QuarantineRecord
from tests.integration.events import READING_LSOA
from tests.integration.flows import alerts_only, open_records, prepare, scenario, worker
from tests.integration.kafka import consume, produce, read_to_end

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]


async def send(
    settings: Settings, messages: list[tuple[str, tuple[bytes, list[tuple[str, bytes]]]]]
) -> None:
    for agency, message in messages:
        await produce(settings, settings.feed_topic(agency), [message])


async def test_three_agencies_raise_the_expected_flags_at_the_right_partnership(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    events = scenario(s, subject=1, lsoa=READING_LSOA)
    started = time.monotonic()
    proc = worker(s, tmp_path / "worker.log")
    try:
        await send(s, events)
        reading = await consume(s, [s.alert_topic("reading")], until=2, timeout_s=60)
        first_flag_s = time.monotonic() - started
        await send(s, events)  # the same events again: duplicates, never a second flag
        # Ingest turns each duplicate away (a known end): nothing more can reach correlation.
        refused = await consume(s, [s.quarantine_topic], until=len(events), timeout_s=90)
        reading = alerts_only(await read_to_end(s, [s.alert_topic("reading")]))
        others = [
            s.alert_topic(p) for p in ("wokingham", "oxfordshire", "slough", "west-berkshire")
        ]
        elsewhere = alerts_only(await read_to_end(s, others))
    finally:
        assert stop_process(proc) == 0
    print(f"worker start to first flag delivered: {first_flag_s:.2f}s")  # noqa: T201  # figure for the note
    reasons = [QuarantineRecord.from_bytes(r.value or b"").reason for r in refused]
    assert reasons == ["duplicate_event"] * len(events)
    opened = open_records(s, "reading", reading)
    assert sorted(a.body.rule.id for a in opened) == ["child-exploitation", "weapon-and-exclusion"]
    assert [a.seq for a in opened] == [1, 2]
    exploitation = next(a for a in opened if a.body.rule.id == "child-exploitation")
    assert [e.type for e in exploitation.body.events] == [
        "csc.missing_episode",
        "csc.exploitation_screening",
        "police.weapon_possession",
    ]
    screening = exploitation.body.events[1]
    assert dict(screening.fields) == {"exploitation_type": "CRIMINAL"}
    assert exploitation.body.subject.startswith("ps1:")
    assert set(exploitation.body.ask) == {"childrens-social-care", "police"}
    assert elsewhere == []
