"""AlertReader and ``hub alerts tail`` on the real broker: gaps, duplicates, wrong keys."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from hub.alerts import AlertRecord, heartbeat, seal_alert
from hub.cli import alerts as alerts_cli
from hub.config import Settings, settings_env
from hub.crypto import HUB, KeyKind, Keyring, partnership_owner
from hub.partnership import (
    AlertReader,
    Gap,
    Heartbeat,
    OpenedAlert,
    PartnershipKeys,
    ReadOptions,
    Rejected,
)
from hub.topics import TopicSpec
from hub.transport import create_topics, kafka_endpoint, new_producer
from tests.unit.alerts.builders import sample_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

P = "reading"
QUIET = ReadOptions(idle_s=1.5)


def stream(settings: Settings) -> list[AlertRecord]:
    """Alerts 1, 2, 2 again, 4, 5 (3 never sent), then a heartbeat saying 6 was sent."""
    keyring = Keyring.open(settings.keys_dir)
    hub_key, recipient = keyring.signing_key(HUB), keyring.hpke_public_key(partnership_owner(P))
    sealed = {
        seq: seal_alert(sample_body(f"al-{seq:04d}"), seq, P, recipient, hub_key)
        for seq in (1, 2, 4, 5)
    }
    beat = heartbeat(P, 6, datetime(2024, 5, 6, 12, 0, tzinfo=UTC), hub_key)
    return [sealed[1], sealed[2], sealed[2], sealed[4], sealed[5], beat]


async def publish(settings: Settings, records: list[AlertRecord]) -> None:
    """Create the partnership topic (one partition) and send each record on its own."""
    topic = settings.alert_topic(P)
    await create_topics(
        kafka_endpoint(settings),
        [TopicSpec(name=topic, partitions=1, replication_factor=1, purpose="test")],
    )
    producer = new_producer(kafka_endpoint(settings), acks="all")
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(
                topic, record.value, key=record.key, headers=list(record.headers)
            )
    finally:
        await producer.stop()


async def read_all(reader: AlertReader) -> list[object]:
    return [item async for item in reader]


def test_reader_reports_gaps_and_delivers_each_alert_once(hub_settings: Settings) -> None:
    asyncio.run(publish(hub_settings, stream(hub_settings)))
    keys = PartnershipKeys.from_keyring(Keyring.open(hub_settings.keys_dir), P)
    reader = AlertReader(hub_settings, keys, options=QUIET)
    items = asyncio.run(read_all(reader))

    alerts = [i for i in items if isinstance(i, OpenedAlert)]
    assert [a.seq for a in alerts] == [1, 2, 4, 5]
    assert [a.alert_id for a in alerts] == ["al-0001", "al-0002", "al-0004", "al-0005"]
    assert alerts[0].body == sample_body("al-0001")
    assert [i for i in items if isinstance(i, Gap)] == [Gap(3, 3), Gap(6, 6)]
    assert [i.last_seq for i in items if isinstance(i, Heartbeat)] == [6]
    assert (reader.stats.duplicates, reader.stats.rejected, reader.stats.next_offset) == (1, 0, 6)


def test_reader_from_seq_skips_earlier_alerts(hub_settings: Settings) -> None:
    asyncio.run(publish(hub_settings, stream(hub_settings)))
    keys = PartnershipKeys.from_keyring(Keyring.open(hub_settings.keys_dir), P)
    items = asyncio.run(read_all(AlertReader(hub_settings, keys, from_seq=4, options=QUIET)))
    assert [i.seq for i in items if isinstance(i, OpenedAlert)] == [4, 5]
    assert [i for i in items if isinstance(i, Gap)] == [Gap(6, 6)]


def test_wrong_key_cannot_decrypt_anything(hub_settings: Settings) -> None:
    asyncio.run(publish(hub_settings, stream(hub_settings)))
    keyring = Keyring.open(hub_settings.keys_dir)
    slough = PartnershipKeys.from_keyring(keyring, "slough")
    wrong = PartnershipKeys(P, slough.hpke, slough.hub)
    items = asyncio.run(read_all(AlertReader(hub_settings, wrong, options=QUIET)))
    assert not [i for i in items if isinstance(i, OpenedAlert)]
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.offset for r in rejected] == [0, 1, 2, 3, 4]
    assert {r.error for r in rejected} == {"DecryptionError"}


def test_tail_prints_json_lines_with_gaps_and_exits_3(hub_settings: Settings) -> None:
    asyncio.run(publish(hub_settings, stream(hub_settings)))
    key_file = next((hub_settings.keys_dir / "partnership" / P / KeyKind.HPKE.value).glob("*.json"))
    args = [
        "tail",
        "--partnership",
        P,
        "--key",
        str(key_file),
        "--json",
        "--no-follow",
        "--wait",
        "1.5",
    ]
    result = CliRunner().invoke(alerts_cli.app, args, env=settings_env(hub_settings))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["type"], x.get("seq")) for x in lines if x["type"] == "alert"] == [
        ("alert", 1),
        ("alert", 2),
        ("alert", 4),
        ("alert", 5),
    ]
    assert [(x["missing_from"], x["missing_to"]) for x in lines if x["type"] == "gap"] == [
        (3, 3),
        (6, 6),
    ]
    assert lines[0]["body"]["subject"] == sample_body().subject
    assert result.exit_code == 3, result.output
