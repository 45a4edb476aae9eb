"""Topic configs reach the broker: created with the plan, read back with DescribeConfigs.

The embedded broker accepts topic configs and returns the ones set explicitly (BROKER.md),
though it never applies retention or compaction; Apache Kafka applies them.
"""

from __future__ import annotations

import pytest

from hub.config import Settings
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint, topic_configs

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


async def test_every_topic_is_created_with_the_configs_of_the_plan(hub_settings: Settings) -> None:
    specs = plan_topics(hub_settings, load_registry(hub_settings.deploy_dir / "registry.yaml"))
    endpoint = kafka_endpoint(hub_settings)
    created = await create_topics(endpoint, specs)
    assert sorted(created) == sorted(s.name for s in specs)
    found = await topic_configs(endpoint, [s.name for s in specs])
    assert found == {s.name: dict(s.config) for s in specs}
    assert await create_topics(endpoint, specs) == []  # idempotent: nothing created twice
