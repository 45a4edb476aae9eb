"""The sequencer agent: outbox in, numbered and signed alerts out, plus heartbeats.

The outbox is keyed by partnership, so one worker numbers each partnership's alerts. The
sequencer writes each alert with its own request (so the topic's end offset stays exact),
and rebuilds what it knows from the partnership's topic whenever its partition assignment
changes.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import faust
import structlog
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import ConsumerRecord

from agents.headers import header_items, raw_topic
from hub import metrics
from hub.alerts import AlertRecord, Unnumbered, heartbeat, number_alert
from hub.config import Settings
from hub.crypto import SigningKey
from hub.errors import DecodeError, TransportError
from hub.quarantine import SourceRef, quarantine
from hub.registry import Registry
from hub.sequencer import PartnershipLog, Pending
from hub.transport import kafka_endpoint
from hub.transport.topiclog import read_partition

log = structlog.get_logger("agents.sequence")
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


class Sequencer:
    """The worker's view of the partnership topics it numbers."""

    def __init__(self, app: faust.App, settings: Settings, hub_key: SigningKey) -> None:
        self.app = app
        self.settings = settings
        self.hub_key = hub_key
        self.logs: dict[str, PartnershipLog] = {}
        self.assignment: frozenset[int] = frozenset()
        self.unswept: frozenset[int] = frozenset()
        self.lock = asyncio.Lock()
        self.origins = metrics.OriginBook()

    async def send(self, partnership_id: str, record: AlertRecord) -> None:
        """Write one record and wait for it: the only writer, one record per request."""
        await self.app.producer.send_and_wait(
            self.settings.alert_topic(partnership_id),
            record.key,
            record.value,
            None,
            None,
            list(record.headers),
        )

    async def log_of(self, partnership_id: str) -> PartnershipLog:
        """What the partnership's topic holds, read back once per assignment."""
        found = self.logs.get(partnership_id)
        if found is None:
            found = PartnershipLog()

            def observe(record: ConsumerRecord[bytes, bytes]) -> None:
                found.observe(list(record.headers))

            await read_partition(
                kafka_endpoint(self.settings), self.settings.alert_topic(partnership_id), observe
            )
            self.logs[partnership_id] = found
            metrics.stream_read(partnership_id, found.last_seq)
            log.info("partnership_log_rebuilt", partnership=partnership_id, last_seq=found.last_seq)
        return found

    def reassigned(self, assignment: frozenset[int]) -> None:
        """Forget every log when the outbox assignment changes: another worker may have written.

        The newly held outbox partitions are also swept (:meth:`sweep`): a record the
        consumer skipped around a rebalance must still be numbered.
        """
        if assignment != self.assignment:
            self.logs.clear()
            self.unswept = assignment
            self.assignment = assignment

    async def sweep(self) -> int:
        """Number every record of the held outbox partitions that is not on its topic yet."""
        found: list[Pending] = []
        for partition in sorted(self.unswept):

            def keep(record: ConsumerRecord[bytes, bytes]) -> None:
                try:
                    found.append(Pending.from_bytes(record.value or b""))
                except DecodeError:
                    return  # the stream quarantines it when it reads it
                self.origins.note(found[-1].alert_id, list(record.headers))

            await read_partition(
                kafka_endpoint(self.settings), self.settings.outbox_topic, keep, partition
            )
        sent = [p for p in found if await self.number(p) is not None]
        # Only now: a sweep cut short (an error, or the agent cancelled by a rebalance) must run
        # again, or the records it had found but not numbered would wait for the next restart.
        self.unswept = frozenset()
        if sent:
            log.warning("outbox_sweep_numbered", alerts=len(sent))
        return len(sent)

    async def number(self, pending: Pending) -> int | None:
        """Send one pending alert with the next number; None if it was sent before."""
        async with self.lock:
            return await self._number(pending)

    async def _number(self, pending: Pending) -> int | None:
        partnership_log = await self.log_of(pending.partnership_id)
        origin = self.origins.take(pending.alert_id)
        seq = partnership_log.assign(pending.alert_id)
        if seq is None:
            return None
        unnumbered = Unnumbered(pending.alert_id.encode(), pending.value, pending.headers)
        await self.send(pending.partnership_id, number_alert(unnumbered, seq, self.hub_key))
        partnership_log.sent(pending.alert_id, seq)
        metrics.alert_published(
            pending.partnership_id, seq, pending.headers, datetime.now(UTC), origin
        )
        return seq

    async def beat(self, partnership_id: str) -> None:
        """Send a heartbeat carrying the last number sent to ``partnership_id``.

        A broker that cannot be reached defers the heartbeat to the next tick: an error
        escaping the timer would crash the worker.
        """
        async with self.lock:
            try:
                await self._beat(partnership_id)
            except TransportError as exc:
                log.warning("heartbeat_deferred", error=type(exc).__name__, detail=str(exc))

    async def _beat(self, partnership_id: str) -> None:
        partnership_log = await self.log_of(partnership_id)
        now = datetime.now(UTC)
        record = heartbeat(partnership_id, partnership_log.last_seq, now, self.hub_key)
        await self.send(partnership_id, record)
        metrics.heartbeat_sent(partnership_id, partnership_log.last_seq, now)


def register_sequencer(
    app: faust.App, settings: Settings, registry: Registry, hub_key: SigningKey
) -> None:
    """Attach the sequencer agent and the heartbeat timer to ``app``."""
    sequencer = Sequencer(app, settings, hub_key)
    outbox = raw_topic(app, settings.outbox_topic)
    quarantine_topic = raw_topic(app, settings.quarantine_topic)
    partitioner = DefaultPartitioner()
    partitions = list(range(settings.partitions))

    def assigned() -> frozenset[int]:
        return frozenset(
            tp.partition for tp in app.consumer.assignment() if tp.topic == settings.outbox_topic
        )

    async def number_until_sent(pending: Pending) -> int | None:
        """Never drop an alert: retry (loudly, with backoff) until it is numbered and sent."""
        delay = RETRY_FIRST_S
        while True:
            try:
                return await sequencer.number(pending)
            except Exception as exc:  # noqa: BLE001  # an escaping error would ack the record and lose the alert
                log.warning(
                    "alert_send_failed",
                    partnership=pending.partnership_id,
                    alert_id=pending.alert_id,
                    error=type(exc).__name__,
                    retry_in_s=delay,
                )
                sequencer.logs.pop(
                    pending.partnership_id, None
                )  # re-read the topic: the send may have landed
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    async def sweep_quietly() -> None:
        """Sweep if due; a failed sweep is retried at the next record or heartbeat."""
        if not sequencer.unswept:
            return
        try:
            await sequencer.sweep()
        except Exception as exc:  # noqa: BLE001  # an escaping error would ack the current record
            log.warning("outbox_sweep_failed", error=type(exc).__name__)

    async def sequence_agent(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            sequencer.reassigned(assigned())
            await sweep_quietly()
            try:
                pending = Pending.from_bytes(event.value)
            except DecodeError as exc:
                message = event.message
                source = SourceRef(
                    topic=message.topic, partition=message.partition, offset=message.offset
                )
                await quarantine_topic.send(value=quarantine(event.value, source, exc).to_bytes())
                metrics.count_quarantine("sequence", exc.reason)
                continue
            sequencer.origins.note(pending.alert_id, header_items(event.message.headers))
            seq = await number_until_sent(pending)
            metrics.count_stream_record(pending.partnership_id, seq)
            log.info(
                "alert_sequenced" if seq else "alert_duplicate_dropped",
                partnership=pending.partnership_id,
                alert_id=pending.alert_id,
                seq=seq,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

    async def heartbeats() -> None:
        owned = assigned()
        sequencer.reassigned(owned)
        await sweep_quietly()
        for partnership in registry.partnerships:
            if partitioner(partnership.id.encode(), partitions, partitions) in owned:
                await sequencer.beat(partnership.id)

    app.agent(outbox, name="sequence")(sequence_agent)
    app.timer(interval=settings.alert_heartbeat_s)(heartbeats)
