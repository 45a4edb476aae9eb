"""Kafka I/O for the hub's tools (aiokafka). aiokafka errors are translated here only."""

from hub.transport.admin import bootstrap_servers, create_topics

__all__ = ["bootstrap_servers", "create_topics"]
