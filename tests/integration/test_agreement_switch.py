"""A new agreement version reaches every worker through the agreements topic and takes effect
at its switch marker, without a restart; decisions record the version they used."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.config import Settings
from hub.dsa import load_directory
from hub.process import stop_process
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from hub.transport.agreements import publish_agreements
from tests.integration.events import READING_LSOA, decisions_of
from tests.integration.flows import alerts_only, governance, open_records, scenario, worker
from tests.integration.kafka import consume, produce, read_to_end, read_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]


async def test_police_agreement_published_later_switches_flags_on_without_restart(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    await create_topics(
        kafka_endpoint(s), plan_topics(s, load_registry(s.deploy_dir / "registry.yaml"))
    )
    every = [a for _, a in load_directory(s.deploy_dir / "agreements").agreements]
    without_police = [a for a in every if not a.id.startswith("tv-police")]
    _, first = await publish_agreements(
        kafka_endpoint(s),
        s.agreements_topic,
        s.accepted_topic,
        without_police,
        datetime.now(UTC),
        governance=governance(s),
    )
    proc = worker(s, tmp_path / "worker.log")
    try:
        for agency, message in scenario(s, subject=7, lsoa=READING_LSOA):
            await produce(s, s.feed_topic(agency), [message])
        await read_until(s, [s.decisions_topic], lambda r: len(decisions_of(r)) >= 18, timeout_s=40)
        before = alerts_only(await consume(s, [s.alert_topic("reading")], until=1, timeout_s=2))
        refs, second = await publish_agreements(
            kafka_endpoint(s),
            s.agreements_topic,
            s.accepted_topic,
            every,
            datetime.now(UTC),
            governance=governance(s),
        )
        after = alerts_only(await consume(s, [s.alert_topic("reading")], until=2, timeout_s=40))
    finally:
        assert stop_process(proc) == 0
    decisions = await read_to_end(s, [s.decisions_topic])  # final: the worker stopped
    assert before == []
    assert sorted(refs) == sorted(a.ref for a in every if a.id.startswith("tv-police"))
    opened = open_records(s, "reading", after)
    assert sorted(a.body.rule.id for a in opened) == ["child-exploitation", "weapon-and-exclusion"]
    records = decisions_of(decisions)
    reading = [r for r in records if r["recipient"] == "reading"]
    assert {r["policy_sequence"] for r in reading} == {first, second}
    assert {r["outcome"] for r in reading if r["policy_sequence"] == first} == {"deny"}
    assert {r["outcome"] for r in reading if r["policy_sequence"] == second} == {"permit"}
