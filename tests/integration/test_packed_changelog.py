"""The subjects changelog written packed, and a restarted worker recovering from it.

One accepted record carries the first half of the scenario for several young people: the
worker stores their subject rows and writes them to the ``subjects`` changelog as one packed
record, not one record per row. Then an attacker appends a pack that does not parse and a pack
whose one row is another subject's value moved to its row beside a genuine row. A new worker
(in-memory tables: every row comes back from the changelog) refuses both, counted by reason,
and once the second half arrives raises every flag, which needs every first-half contribution
recovered from the pack.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.config import Settings
from hub.crypto.packedrows import encode_rows, is_pack_key, pack_key
from hub.process import stop_process
from hub.transport.partitioner import partition_for
from tests.integration.attack import produce_raw
from tests.integration.changelog import changelog_rows
from tests.integration.events import token_for
from tests.integration.flows import (
    alerts_only,
    open_records,
    prepare,
    scenario_record,
    worker,
)
from tests.integration.kafka import consume, read_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
PARTITION = 1
SUBJECTS = 4


def refusals(log: Path, topic: str) -> Counter[str]:
    """The worker's ``record_refused`` reasons for ``topic``, from its JSON log."""
    found: Counter[str] = Counter()
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if '"record_refused"' in line:
            parsed = json.loads(line)
            if parsed.get("topic") == topic:
                found[parsed["reason"]] += 1
    return found


async def test_rows_are_written_packed_and_recovered_from_packs_past_forged_ones(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await prepare(s)
    changelog = s.changelog_topic("subjects")
    seeds = [n for n in range(500, 700) if partition_for(token_for(n).encode(), s.partitions) == 1]
    seeds = seeds[:SUBJECTS]
    tokens = {token_for(n).encode() for n in seeds}
    now = datetime.now(UTC)

    proc = worker(s, tmp_path / "worker-1.log")
    try:
        await produce_raw(
            s,
            s.accepted_topic,
            [(b"batch", scenario_record(s, seeds, range(2), now, PARTITION)[0], [], PARTITION)],
        )
        records = await read_until(
            s, [changelog], lambda r: tokens <= {row.key for row in changelog_rows(r)}, 90
        )
    finally:
        assert stop_process(proc) == 0

    packs = [r for r in records if is_pack_key(r.key)]
    rows = changelog_rows(records)
    assert len(packs) == 1, "one accepted record's rows make one changelog record"
    assert tokens <= {row.key for row in changelog_rows(packs)}
    assert len(records) < len(rows)
    assert all(row.partition == PARTITION for row in rows if row.key in tokens)

    genuine = {row.key: row.value for row in rows if row.key in tokens}
    first, second = sorted(genuine)[:2]
    await produce_raw(
        s,
        changelog,
        [
            (pack_key(10**9, 0, ()), b"VRP1\x00\x00\x00\x02 not rows", [], PARTITION),
            (
                pack_key(10**9, 1, (first, second)),
                encode_rows([(first, genuine[first]), (second, genuine[first])]),
                [],
                PARTITION,
            ),
        ],
    )

    log = tmp_path / "worker-2.log"
    proc = worker(s, log)
    try:  # the second half completes both rules only on the recovered first half
        await produce_raw(
            s,
            s.accepted_topic,
            [(b"batch", scenario_record(s, seeds, range(2, 4), now, PARTITION)[0], [], PARTITION)],
        )
        reading = await consume(s, [s.alert_topic("reading")], until=2 * SUBJECTS, timeout_s=120)
    finally:
        assert stop_process(proc) == 0
    assert refusals(log, changelog) == {"malformed_record": 1, "bad_signature": 1}
    opened = open_records(s, "reading", alerts_only(reading))
    assert Counter(a.body.rule.id for a in opened) == {
        "child-exploitation": SUBJECTS,
        "weapon-and-exclusion": SUBJECTS,
    }
    for alert in opened:
        if alert.body.rule.id == "child-exploitation":
            assert [e.type for e in alert.body.events][:2] == [
                "csc.missing_episode",
                "csc.exploitation_screening",
            ]
