"""review21: a topic created after a wait started must still be read.

``TopicReader._assign`` says "metadata refreshed: a topic may have appeared", but
``consumer.topics()`` fills a fresh ``ClusterMetadata`` (aiokafka's ``fetch_all_metadata``) and
leaves ``consumer._client.cluster`` as it was, so ``partitions_for_topic`` never learns of a topic
(or of partitions) added after the reader's first look: ``wait_for`` times out (fails here).
``read_until``'s subscribed consumer does find it (passes here: kept as the comparison).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from hub.config import Settings
from hub.topics import TopicSpec
from hub.transport import ConsumerRecord, create_topics, kafka_endpoint
from tests.integration.kafka import produce, read_until, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


async def _later(settings: Settings, topic: str) -> None:
    await asyncio.sleep(2)
    spec = TopicSpec(name=topic, partitions=2, replication_factor=1, purpose="review21")
    await create_topics(kafka_endpoint(settings), [spec])
    await produce(settings, topic, [(b"one", [])], key=b"k")


@pytest.mark.parametrize("wait", [read_until, wait_for], ids=["read_until", "wait_for"])
async def test_a_wait_reads_a_topic_created_after_it_started(
    hub_settings: Settings, wait: Callable[..., Awaitable[list[ConsumerRecord[bytes, bytes]]]]
) -> None:
    topic = f"{hub_settings.decisions_topic}.review21-late-{wait.__name__}"
    writer = asyncio.create_task(_later(hub_settings, topic))
    records = await wait(hub_settings, [topic], lambda r: len(r) >= 1, timeout_s=30)
    await writer
    assert [r.value for r in records] == [b"one"]
