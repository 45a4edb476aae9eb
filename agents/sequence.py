"""The sequencer agent: outbox records in, handed to :class:`hub.sequencing.SequencingService`.

The service numbers, signs and writes each alert (and sweeps and beats); this adapter only
turns faust's events into transport records, tells the service which outbox partitions the
worker holds, logs what it returns, and quarantines a record the service cannot number (the
quarantine record sent as the other agents send theirs, ``agents/sending.py``: retried while
the broker fails, and delivered before the record is acknowledged).
"""

from __future__ import annotations

import time
from typing import Any, cast

import faust
import structlog
from mode.types.signals import BaseSignalT

from agents.headers import header_items, raw_topic
from agents.sending import Delivery, send_all
from hub import metrics
from hub.config import Settings
from hub.errors import HubError
from hub.quarantine import SourceRef, quarantine
from hub.registry import Registry
from hub.runtime import WorkerKeys
from hub.sequencing import SequencingKeys, SequencingService, SequencingTopics
from hub.transport import kafka_endpoint
from hub.transport.kafka import KafkaTransport
from hub.transport.record import Record

log = structlog.get_logger("agents.sequence")


def record_of(event: faust.EventT[bytes]) -> Record:
    """A faust event as the transport's record."""
    message = event.message
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=event.value or b"",
        headers=header_items(message.headers),
        timestamp_ms=int(message.timestamp * 1000),
    )


def sequencing_service(settings: Settings, keys: WorkerKeys) -> SequencingService:
    """The service over an aiokafka transport of its own (one producer, per-read consumers)."""
    topics = SequencingTopics(settings.outbox_topic, settings.alert_topic, settings.partitions)
    transport = KafkaTransport(kafka_endpoint(settings))
    return SequencingService(transport, topics, SequencingKeys(keys.hub, keys.verifier))


def register_sequencer(
    app: faust.App, settings: Settings, registry: Registry, keys: WorkerKeys
) -> None:
    """Attach the sequencer agent and the heartbeat timer to ``app``."""
    service = sequencing_service(settings, keys)
    outbox = raw_topic(app, settings.outbox_topic)
    quarantine_topic = raw_topic(app, settings.quarantine_topic)
    partnerships = tuple(p.id for p in registry.partnerships)

    def assigned() -> frozenset[int]:
        return frozenset(
            tp.partition for tp in app.consumer.assignment() if tp.topic == settings.outbox_topic
        )

    async def take(record: Record) -> None:
        started = time.perf_counter()
        taken = await service.take(record)
        for done in taken.sequenced:
            log.info(
                "alert_sequenced" if done.seq else "alert_duplicate_dropped",
                partnership=done.partnership_id,
                seq=done.seq,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

    async def send_quarantine(value: bytes) -> Delivery:
        return await quarantine_topic.send(value=value)  # delivered before the record is acked

    async def sequence_agent(stream: faust.StreamT[bytes]) -> None:
        # Acknowledged by hand, after the record's outputs are delivered: faust's acking
        # iterator acks the record its body was on when the body raises or is cancelled.
        unacked = cast("faust.Stream[bytes]", stream).noack()
        async for event in unacked.events():
            record = record_of(event)
            service.reassigned(assigned())
            await service.sweep_quietly()
            try:
                await take(record)
            except Exception as exc:  # noqa: BLE001  # an escaping error would ack the record: quarantine it
                error = exc if isinstance(exc, HubError) else HubError(type(exc).__name__)
                source = SourceRef(
                    topic=record.topic, partition=record.partition, offset=record.offset
                )
                quarantined = quarantine(record.value or b"", source, error, key=record.key)
                await send_all((quarantined.to_bytes(),), send_quarantine, agent="sequence")
                metrics.count_quarantine("sequence", quarantined.reason)
            await unacked.ack(event)

    async def heartbeats() -> None:
        try:
            await service.tick(assigned(), partnerships)
        except Exception as exc:  # noqa: BLE001  # an error escaping a timer crashes the worker
            log.warning("heartbeat_deferred", error=type(exc).__name__)

    async def close_transport(
        _app: Any, /, *_args: Any, signal: BaseSignalT[Any], **_kwargs: Any
    ) -> None:
        """Stop the service's producer with the worker (faust's on_before_shutdown)."""
        await service.transport.close()

    app.agent(outbox, name="sequence")(sequence_agent)
    app.timer(interval=settings.alert_heartbeat_s)(heartbeats)
    app.on_before_shutdown.connect(close_transport)
