"""The one seam to Kafka: every aiokafka client of the project is built and translated here.

* :class:`KafkaEndpoint` and :func:`kafka_endpoint`: the brokers and the security to reach
  them (TLS, mutual TLS, SASL), from the settings, secrets as ``SecretStr`` (``endpoint``).
* :func:`client_options`: the one function that turns an endpoint into a client's options
  (``options``); the faust worker's ``broker_credentials`` are built from it too.
* :func:`new_consumer`, :func:`new_producer`, :func:`new_admin`: the only constructors of
  aiokafka clients (``clients``).
* :func:`translated`: aiokafka's errors become the hub's, naming a TLS or SASL refusal's cause
  (``failure``).
* Topic administration, partition reads and agreement publication (``admin``, ``topiclog``,
  ``probe``, ``agreements``).

::

    endpoint = kafka_endpoint(settings)
    consumer = new_consumer(endpoint, group_id=None)
    async with translated(endpoint, f"read {topic}"):
        await consumer.start()
"""

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from hub.transport.admin import check_reachable, create_topics, topic_configs
from hub.transport.clients import new_admin, new_consumer, new_producer
from hub.transport.endpoint import (
    KafkaEndpoint,
    SaslLogin,
    Tls,
    bootstrap_servers,
    kafka_endpoint,
    parse_servers,
)
from hub.transport.failure import broker_error, diagnose, translated
from hub.transport.options import client_options, ssl_context

#: The type of :func:`new_consumer`'s clients, for annotations outside the seam.
KafkaConsumer = AIOKafkaConsumer

__all__ = [
    "ConsumerRecord",
    "KafkaConsumer",
    "KafkaEndpoint",
    "SaslLogin",
    "Tls",
    "TopicPartition",
    "bootstrap_servers",
    "broker_error",
    "check_reachable",
    "client_options",
    "create_topics",
    "diagnose",
    "kafka_endpoint",
    "new_admin",
    "new_consumer",
    "new_producer",
    "parse_servers",
    "ssl_context",
    "topic_configs",
    "translated",
]
