"""The one seam to Kafka: every aiokafka client of the project is built and translated here.

* :class:`KafkaEndpoint` and :func:`kafka_endpoint`: the brokers and the security to reach
  them (TLS, mutual TLS, SASL), from the settings, secrets as ``SecretStr`` (``endpoint``).
* :func:`client_options`: the one function that turns an endpoint into a client's options
  (``options``); the faust worker's ``broker_credentials`` are built from it too.
* :func:`new_consumer`, :func:`new_producer`, :func:`new_admin`: the only constructors of
  aiokafka clients (``clients``).
* :func:`translated`: aiokafka's errors become the hub's, naming a TLS or SASL refusal's cause
  (``failure``).
* :class:`Transport`: what the hub's own code does with Kafka outside faust's streams
  (produce, read to a known end, follow, end offsets, create topics) as one typed protocol
  over the hub's :class:`Record` and :class:`Written` (``protocol``, ``record``); its
  implementations are ``kafka.KafkaTransport`` (aiokafka) and ``memory.MemoryTransport``
  (lists, for unit tests), held to one contract (``tests/contract/test_transport_contract.py``).
* Topic administration, partition reads and agreement publication (``admin``, ``topiclog``,
  ``probe``, ``agreements``).

::

    async with KafkaTransport(kafka_endpoint(settings)) as transport:
        await transport.send(topic, value, key=key, headers=headers)
        count = await transport.read(topic, 0, visit)

The raw clients, for what the protocol does not cover (faust's own, the benchmarks)::

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
from hub.transport.failure import broker_error, diagnose, retriable, translated
from hub.transport.options import client_options, ssl_context
from hub.transport.protocol import Transport
from hub.transport.record import Headers, Record, Written

#: The type of :func:`new_consumer`'s clients, for annotations outside the seam.
KafkaConsumer = AIOKafkaConsumer

__all__ = [
    "ConsumerRecord",
    "Headers",
    "KafkaConsumer",
    "KafkaEndpoint",
    "Record",
    "SaslLogin",
    "Tls",
    "TopicPartition",
    "Transport",
    "Written",
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
    "retriable",
    "ssl_context",
    "topic_configs",
    "translated",
]
