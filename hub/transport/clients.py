"""The only constructors of aiokafka clients in the project.

Each factory takes the :class:`KafkaEndpoint` and the client's own tuning options; the
bootstrap servers and the security options always come from :func:`client_options`, so no
client can be built without them (a test walks every module for stray constructors).
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from hub.transport.endpoint import KafkaEndpoint
from hub.transport.options import SECURITY_OPTIONS, client_options


def new_consumer(endpoint: KafkaEndpoint, *topics: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer (subscribed to ``topics`` if any) with the endpoint's security."""
    return AIOKafkaConsumer(*topics, **_merged(endpoint, options))


def new_producer(endpoint: KafkaEndpoint, **options: Any) -> AIOKafkaProducer:
    """A producer with the endpoint's security."""
    return AIOKafkaProducer(**_merged(endpoint, options))


def new_admin(endpoint: KafkaEndpoint, **options: Any) -> AIOKafkaAdminClient:
    """An admin client with the endpoint's security."""
    return AIOKafkaAdminClient(**_merged(endpoint, options))


def _merged(endpoint: KafkaEndpoint, options: dict[str, Any]) -> dict[str, Any]:
    clash = SECURITY_OPTIONS & options.keys()
    if clash:
        raise TypeError(f"set by the endpoint, not by the caller: {sorted(clash)}")
    return {**options, **client_options(endpoint)}
