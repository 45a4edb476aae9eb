"""Place-based alerts on the real broker: emergency-department assault data holding a hot spot
in a Reading LSOA reaches Reading's community safety partnership as one `area.raised` alert,
sealed, numbered and encrypted like every alert, with its counts and baseline."""

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


def _assaults(settings: Settings) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    """One assault a month for fourteen months, then six in the last fortnight."""
    now = datetime.now(UTC).replace(hour=21, minute=0, second=0, microsecond=0)
    days = [20 + 30 * month for month in range(14)] + [2 * k + 1 for k in range(6)]
    items: list[tuple[str, dict[str, Any]]] = [
        (
            "health.ed_assault",
            record(
                "health.ed_assault",
                "health",
                READING_LSOA,
                9000 + n,
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
        await produce(s, s.feed_topic("health"), _assaults(s))
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
