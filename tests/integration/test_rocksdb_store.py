"""The persistent table store (RocksDB through rocksdict), selected by settings.

Half of a subject's events go to a worker using ``HUB_TABLE_STORE=rocksdb://``; the worker is
stopped and a new one started on the same state directory; the other half then completes the
rules. The flags are raised only if the first half's contributions survived the restart, and the
state directory must hold a RocksDB database.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import Settings
from hub.process import stop_process
from tests.integration.changelog import changelog_rows
from tests.integration.events import READING_LSOA, token_for
from tests.integration.flows import alerts_only, open_records, prepare, scenario, worker
from tests.integration.kafka import consume, produce, read_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]


async def test_rocksdb_store_keeps_contributions_across_a_restart(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings.model_copy(
        update={"table_store": "rocksdb://", "state_dir": tmp_path / "state"}
    )
    await prepare(s)
    events = scenario(s, subject=7, lsoa=READING_LSOA)
    first, second = events[:2], events[2:]

    proc = worker(s, tmp_path / "worker-1.log")
    try:
        # No rule is complete yet: wait until each event is folded into the subject's state,
        # the second sent once the first was (two events read together make one write).
        row = token_for(7).encode()
        for written, (agency, message) in enumerate(first, start=1):
            await produce(s, s.feed_topic(agency), [message])
            folded = await read_until(
                s,
                [s.changelog_topic("subjects")],
                lambda r, n=written: sum(x.key == row for x in changelog_rows(r)) >= n,
                timeout_s=60,
            )
            assert sum(x.key == row for x in changelog_rows(folded)) >= written
    finally:
        assert stop_process(proc) == 0

    stores = [p for p in (tmp_path / "state").rglob("CURRENT") if p.is_file()]
    assert stores, "the worker wrote no RocksDB database under its state directory"

    proc = worker(s, tmp_path / "worker-2.log")
    try:
        for agency, message in second:
            await produce(s, s.feed_topic(agency), [message])
        records = await consume(s, [s.alert_topic("reading")], until=2, timeout_s=60)
    finally:
        assert stop_process(proc) == 0
    opened = open_records(s, "reading", alerts_only(records))
    assert sorted(a.body.rule.id for a in opened) == ["child-exploitation", "weapon-and-exclusion"]
    exploitation = next(a for a in opened if a.body.rule.id == "child-exploitation")
    assert [e.type for e in exploitation.body.events][:2] == [
        "csc.missing_episode",
        "csc.exploitation_screening",
    ]
