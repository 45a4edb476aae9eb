"""``hub backtest --topics``: a past month sent to the feed topics, backtested from the broker."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.backtest import Backtest, BacktestSetup, Period, Policy, Tally
from hub.backtest.batches import events_of, single_events
from hub.backtest.plan import Sealed
from hub.backtest.sources import Sealer, police_file
from hub.backtest.topics import feed_topics
from hub.cli import app
from hub.config import Settings, settings_env
from hub.crypto import Keyring, agency_owner
from hub.crypto.batchrecord import encode_batch_record
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint, new_producer
from tests.recent import MONTHS_BACK, month_start, police_head

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


async def publish(settings: Settings, messages: list[Sealed], *, batches: bool) -> None:
    """Send the messages to their agencies' feed topics, as ``hub feed`` does: each alone with
    its seal, or (``batches``) as batch records of up to 256 events, one signature each."""
    producer = new_producer(kafka_endpoint(settings), acks="all")
    await producer.start()
    try:
        if batches:
            sent = [
                await producer.send(settings.feed_topic(agency), record)
                for agency, record in batch_records(settings, messages)
            ]
        else:
            sent = [
                await producer.send(
                    settings.feed_topic(agency), m.value, key=m.key, headers=list(m.headers)
                )
                for agency, m in messages
            ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def batch_records(settings: Settings, messages: list[Sealed]) -> list[tuple[str, bytes]]:
    """Each agency's events, in order, sealed again as batch records with its signing key."""
    keyring = Keyring.open(settings.keys_dir)
    by_agency: dict[str, list[bytes]] = defaultdict(list)
    for agency, m in messages:
        by_agency[agency].append(m.value)
    return [
        (agency, encode_batch_record(values[i : i + 256], key, agency))
        for agency, values in by_agency.items()
        for key in [keyring.signing_key(agency_owner(agency))]
        for i in range(0, len(values), 256)
    ]


def singles(records: list[Sealed]) -> list[Sealed]:
    """The SDK's batch records as single-event messages, each with its own seal."""
    return [(agency, m) for agency, record in records for m in single_events(record)]


def run(settings: Settings, period: Period, chunks: Iterable[list[Sealed]]) -> Backtest:
    runner = Backtest(
        BacktestSetup.load(settings, Policy.CURRENT, period, datetime.now(UTC)), period
    )
    for chunk in chunks:
        runner.feed(chunk)
    return runner


def alerts(tally: Tally) -> Counter[tuple[str, ...]]:
    return Counter(
        {(*key, kind): n for key, kinds in tally.alerts.items() for kind, n in kinds.items() if n}
    )


@pytest.mark.parametrize("batches", [False, True], ids=["single-event", "batch-records"])
def test_a_month_backtested_from_the_feed_topics_counts_what_the_file_counts(
    hub_settings: Settings, tmp_path: Path, batches: bool
) -> None:
    s = hub_settings
    registry = load_registry(s.deploy_dir / "registry.yaml")
    asyncio.run(create_topics(kafka_endpoint(s), plan_topics(s, registry)))
    head = police_head(tmp_path / "police.csv", 600)
    [records] = police_file(Sealer(s, Keyring.open(s.keys_dir)), head, partners=True)
    month = singles(records)
    asyncio.run(publish(s, month, batches=batches))
    period = Period(month_start(MONTHS_BACK + 1), datetime.now(UTC).date())

    from_file = run(s, period, [month])
    from_topics = run(s, period, feed_topics(s))

    assert from_topics.read == from_file.read == len(month)
    assert from_topics.tally.events == from_file.tally.events
    assert from_topics.tally.quarantined == from_file.tally.quarantined == Counter()
    raised = alerts(from_file.tally)
    assert sum(n for key, n in raised.items() if key[-1] == "flag.raised") > 0
    assert alerts(from_topics.tally) == raised
    assert from_topics.tally.decisions == from_file.tally.decisions


def test_named_feed_topics_read_only_those_agencies(hub_settings: Settings, tmp_path: Path) -> None:
    s = hub_settings
    registry = load_registry(s.deploy_dir / "registry.yaml")
    asyncio.run(create_topics(kafka_endpoint(s), plan_topics(s, registry)))
    head = police_head(tmp_path / "police.csv", 60)
    [records] = police_file(Sealer(s, Keyring.open(s.keys_dir)), head, partners=True)
    month = singles(records)
    asyncio.run(publish(s, month, batches=True))
    [police] = feed_topics(s, ["police"])
    events = sum(len(events_of(m)) for _, m in police)
    assert events == sum(1 for agency, _ in month if agency == "police") > 0
    assert {agency for agency, _ in police} == {"police"}

    first, last = month_start(MONTHS_BACK + 1).isoformat(), datetime.now(UTC).date().isoformat()
    args = ["backtest", "--from", first, "--to", last, "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, "--topics", "police"], env=settings_env(s))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1])["read"] == events
    result = CliRunner().invoke(app, [*args, "--topics", "police,nobody"], env=settings_env(s))
    assert result.exit_code == 1
    assert "nobody" in result.output
