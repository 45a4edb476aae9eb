"""Topic administration over the Kafka protocol."""

from __future__ import annotations

from aiokafka.admin import NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError

from hub.errors import TransportError
from hub.topics import TopicSpec
from hub.transport.clients import new_admin
from hub.transport.endpoint import KafkaEndpoint
from hub.transport.failure import translated


async def create_topics(endpoint: KafkaEndpoint, specs: list[TopicSpec]) -> list[str]:
    """Create every topic that does not exist yet, with its configs; return the names created."""
    admin = new_admin(endpoint)
    try:
        async with translated(endpoint, "create topics"):
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [s for s in specs if s.name not in existing]
            if missing:
                await admin.create_topics([_new_topic(s) for s in missing])
    except TransportError as exc:
        if isinstance(exc.__cause__, TopicAlreadyExistsError):  # another creator won the race
            return []
        raise
    finally:
        await admin.close()
    return [s.name for s in missing]


def _new_topic(spec: TopicSpec) -> NewTopic:
    return NewTopic(
        name=spec.name,
        num_partitions=spec.partitions,
        replication_factor=spec.replication_factor,
        topic_configs=dict(spec.config),
    )


async def topic_configs(endpoint: KafkaEndpoint, names: list[str]) -> dict[str, dict[str, str]]:
    """The configs the broker reports for each topic (Apache Kafka: all of them, defaults
    included; the embedded broker: only those set explicitly)."""
    admin = new_admin(endpoint)
    found: dict[str, dict[str, str]] = {}
    try:
        async with translated(endpoint, "describe topic configs"):
            await admin.start()
            resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
            for response in await admin.describe_configs(resources):
                for _code, _message, _type, name, entries in response.resources:
                    found[name] = {entry[0]: entry[1] for entry in entries if entry[1] is not None}
    finally:
        await admin.close()
    return found


async def check_reachable(endpoint: KafkaEndpoint) -> None:
    """Connect once (TLS and SASL included); the hub's error says why if it cannot."""
    admin = new_admin(endpoint)
    try:
        async with translated(endpoint, "connect to the broker"):
            await admin.start()
    finally:
        await admin.close()
