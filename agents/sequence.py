"""The sequencer agent: outbox in, numbered and signed alerts out, plus heartbeats.

The outbox is keyed by partnership, so one worker numbers each partnership's alerts. The
sequencer writes each alert with its own request (so the topic's end offset stays exact),
and rebuilds what it knows from the partnership's topic whenever its partition assignment
changes.

Trust: an outbox record is numbered only once its hub MAC verifies for the partition it was
read from (``hub.crypto.record``); the partnership's topic is rebuilt from records that verify
as the hub's signed alerts for that partnership (``hub.sequencer.verified_meta``). Anything
else is refused and counted (``hub.refusal``): it changes neither numbering nor heartbeats.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import faust
import structlog
from aiokafka.structs import ConsumerRecord

from agents.headers import header_items, raw_topic
from hub import metrics
from hub.alerts import AlertRecord, Unnumbered, heartbeat, number_alert
from hub.config import Settings
from hub.crypto.record import Kind, Place
from hub.errors import CryptoError, HubError, TransportError
from hub.quarantine import SourceRef, quarantine
from hub.refusal import Position, refused
from hub.registry import Registry
from hub.runtime import WorkerKeys
from hub.sequencer import PartnershipLog, Pending, verified_meta
from hub.transport import kafka_endpoint
from hub.transport.partitioner import partition_for
from hub.transport.topiclog import read_partition

log = structlog.get_logger("agents.sequence")
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


class Sequencer:
    """The worker's view of the partnership topics it numbers."""

    def __init__(self, app: faust.App, settings: Settings, keys: WorkerKeys) -> None:
        self.app = app
        self.settings = settings
        self.keys = keys
        self.hub_key = keys.hub
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
                alert = AlertRecord(
                    record.key or b"", record.value or b"", header_items(record.headers)
                )
                try:
                    meta = verified_meta(alert, partnership_id, self.keys.verifier.hub_key)
                except HubError as exc:
                    refused(Position(record.topic, record.partition, record.offset), exc)
                    return
                found.observe(meta)

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
                    pendings = self.pending_of(record.value or b"", record.topic, record.partition)
                except HubError:
                    return  # the stream refuses or quarantines it when it reads it
                for pending in pendings:
                    self.origins.note(pending.alert_id, header_items(record.headers))
                found.extend(pendings)

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

    def pending_of(self, value: bytes, topic: str, partition: int) -> list[Pending]:
        """The alerts an outbox record carries once its MAC verifies where it was read.

        A CryptoError when it is not the hub's; a DecodeError when an item does not parse.
        """
        opened = self.keys.verifier.open(value, Place(topic, partition), (Kind.ALERTS,))
        return [Pending.from_bytes(item) for item in opened.items]

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

    async def number_until_sent(self, pending: Pending) -> int | None:
        """Never drop an alert: retry (loudly, with backoff) until it is numbered and sent.

        A non-retriable hub error (an alert the hub itself cannot number) is raised instead:
        retrying it would stall the partnership's stream for ever.
        """
        delay = RETRY_FIRST_S
        while True:
            try:
                return await self.number(pending)
            except Exception as exc:  # an escaping error would ack the record and lose the alert
                if isinstance(exc, HubError) and not exc.retriable:
                    raise
                log.warning(
                    "alert_send_failed",
                    partnership=pending.partnership_id,
                    alert_id=pending.alert_id,
                    error=type(exc).__name__,
                    retry_in_s=delay,
                )
                self.logs.pop(
                    pending.partnership_id, None
                )  # re-read the topic: the send may have landed
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    async def sweep_quietly(self) -> None:
        """Sweep if due; a failed sweep is retried at the next record or heartbeat."""
        if not self.unswept:
            return
        try:
            await self.sweep()
        except Exception as exc:  # noqa: BLE001  # an escaping error would ack the current record
            log.warning("outbox_sweep_failed", error=type(exc).__name__)

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
    app: faust.App, settings: Settings, registry: Registry, keys: WorkerKeys
) -> None:
    """Attach the sequencer agent and the heartbeat timer to ``app``."""
    sequencer = Sequencer(app, settings, keys)
    outbox = raw_topic(app, settings.outbox_topic)
    quarantine_topic = raw_topic(app, settings.quarantine_topic)

    def assigned() -> frozenset[int]:
        return frozenset(
            tp.partition for tp in app.consumer.assignment() if tp.topic == settings.outbox_topic
        )

    async def handle(event: faust.EventT[bytes]) -> None:
        """Number every alert of one outbox record; refuse it if it is not the hub's."""
        started = time.perf_counter()
        message = event.message
        try:
            pendings = sequencer.pending_of(event.value or b"", message.topic, message.partition)
        except CryptoError as exc:
            refused(Position(message.topic, message.partition, message.offset), exc)
            return
        for pending in pendings:
            sequencer.origins.note(pending.alert_id, header_items(message.headers))
            seq = await sequencer.number_until_sent(pending)
            metrics.count_stream_record(pending.partnership_id, seq)
            log.info(
                "alert_sequenced" if seq else "alert_duplicate_dropped",
                partnership=pending.partnership_id,
                alert_id=pending.alert_id,
                seq=seq,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

    async def sequence_agent(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            sequencer.reassigned(assigned())
            await sequencer.sweep_quietly()
            try:
                await handle(event)
            except Exception as exc:  # noqa: BLE001  # an escaping error would ack the record: quarantine it
                message = event.message
                error = exc if isinstance(exc, HubError) else HubError(type(exc).__name__)
                source = SourceRef(
                    topic=message.topic, partition=message.partition, offset=message.offset
                )
                record = quarantine(event.value or b"", source, error, key=message.key)
                await quarantine_topic.send(value=record.to_bytes())
                metrics.count_quarantine("sequence", record.reason)

    async def heartbeats() -> None:
        try:
            owned = assigned()
            sequencer.reassigned(owned)
            await sequencer.sweep_quietly()
            for partnership in registry.partnerships:
                if partition_for(partnership.id.encode(), settings.partitions) in owned:
                    await sequencer.beat(partnership.id)
        except Exception as exc:  # noqa: BLE001  # an error escaping a timer crashes the worker
            log.warning("heartbeat_deferred", error=type(exc).__name__)

    app.agent(outbox, name="sequence")(sequence_agent)
    app.timer(interval=settings.alert_heartbeat_s)(heartbeats)
