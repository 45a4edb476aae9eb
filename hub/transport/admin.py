"""Topic administration over the Kafka protocol."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from hub.errors import TransportError
from hub.topics import TopicSpec


def bootstrap_servers(broker_url: str) -> str:
    """``kafka://a:1;kafka://b:2`` (faust style) to ``a:1,b:2`` (Kafka client style)."""
    hosts = [part.strip().removeprefix("kafka://") for part in broker_url.split(";")]
    return ",".join(h.rstrip("/") for h in hosts if h)


async def create_topics(broker_url: str, specs: list[TopicSpec]) -> list[str]:
    """Create every topic that does not exist yet; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(broker_url))
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        name=s.name,
                        num_partitions=s.partitions,
                        replication_factor=s.replication_factor,
                        topic_configs=dict(s.config),
                    )
                    for s in missing
                ]
            )
    except TopicAlreadyExistsError:
        return []
    except KafkaError as exc:
        raise TransportError(f"cannot create topics: {type(exc).__name__}") from exc
    finally:
        await admin.close()
    return [s.name for s in missing]
