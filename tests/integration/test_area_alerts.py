"""Place-based alerts on the real broker: emergency-department assault data holding a hot spot
in a Reading LSOA reaches Reading's community safety partnership as one `area.raised` alert,
sealed, numbered and encrypted like every alert, with its counts and baseline; and a flat
baseline, busy enough to pass the rule's minimum count in every window, raises nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.alerts import AlertKind
from hub.config import Settings
from hub.process import stop_process
from tests.integration.events import READING_LSOA, record, sealed
from tests.integration.flows import alerts_only, open_records, prepare, worker
from tests.integration.kafka import produce, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(200)]

FEED_KEY = READING_LSOA.encode()
"""Every record on one feed partition, so that ingest reads them in the order sent: unkeyed,
the producer spread them over the feed's partitions, ingest's groups of the two interleaved as
timing had it, and a spike event decided before older flat ones (a baseline short of them)
raised the area alert at 13 events instead of 14 (once in three fresh-clone `make test` runs)."""


def _assaults(
    settings: Settings, days: list[int], first: int = 9000
) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    """Assaults in a Reading LSOA, ``days`` days ago each, oldest first."""
    now = datetime.now(UTC).replace(hour=21, minute=0, second=0, microsecond=0)
    items: list[tuple[str, dict[str, Any]]] = [
        (
            "health.ed_assault",
            record(
                "health.ed_assault",
                "health",
                READING_LSOA,
                first + n,
                occurred=now - timedelta(days=d),
            ),
        )
        for n, d in enumerate(sorted(days, reverse=True))
    ]
    return sealed(settings, "health", items)


async def test_an_ed_hot_spot_raises_one_area_alert_for_its_partnership(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    proc = worker(s, tmp_path / "worker.log")
    try:
        hot = [20 + 30 * month for month in range(14)] + [2 * k + 1 for k in range(6)]
        await produce(s, s.feed_topic("health"), _assaults(s, hot), key=FEED_KEY)
        records = await wait_for(
            s, [s.alert_topic("reading")], lambda rs: bool(alerts_only(rs)), 120
        )
    finally:
        assert stop_process(proc) == 0
    [alert] = open_records(s, "reading", alerts_only(records))
    body = alert.body
    assert body.kind is AlertKind.AREA_RAISED
    assert body.subject == f"area:{READING_LSOA}"
    assert body.rule.id == "ed-assault-hotspot"
    [figures] = body.events
    assert figures.fields["events_in_window"] >= 5
    assert figures.fields["lsoa"] == READING_LSOA
    assert figures.fields["baseline_events"] in {"<5", *range(5, 20)}
    assert body.agreements == ("tv-health-ed-assault@1",)
    assert alert.seq == 1


FLAT_EVERY = 4
"""A flat baseline: an assault every four days, seven in every 28-day window (over the rule's
minimum of five, under twice the LSOA's own mean)."""


async def test_a_flat_baseline_raises_nothing_until_a_real_spike(
    hub_settings: Settings, tmp_path: Path
) -> None:
    """Fifteen months of steady assaults, then a spike, all in one LSOA and one feed partition
    (:data:`FEED_KEY`): its events share one
    accepted partition, processed in order, and its alerts one outbox partition, numbered in
    order. The first alert Reading gets is therefore the first the LSOA raised; it counts the
    spike (no window of the flat period holds 14), so the flat months raised none."""
    s = hub_settings
    await prepare(s)
    flat = list(range(460, 14, -FLAT_EVERY))
    spike = list(range(14, 0, -1))  # one a day for the last fortnight
    proc = worker(s, tmp_path / "worker.log")
    try:
        await produce(s, s.feed_topic("health"), _assaults(s, flat + spike), key=FEED_KEY)
        records = await wait_for(
            s, [s.alert_topic("reading")], lambda rs: bool(alerts_only(rs)), 120
        )
    finally:
        assert stop_process(proc) == 0
    first = min(open_records(s, "reading", alerts_only(records)), key=lambda a: a.seq)
    assert first.seq == 1
    assert first.body.kind is AlertKind.AREA_RAISED
    [figures] = first.body.events
    flat_window = 28 // FLAT_EVERY
    assert figures.fields["events_in_window"] >= 2 * flat_window
    assert figures.fields["baseline_per_window"] <= flat_window + 1
