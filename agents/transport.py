"""A faust transport whose recovery reads changelogs to their true end.

faust decides where table recovery stops from the consumer's highwater (ListOffsets
"latest"). On the embedded broker that is too low when the newest batch holds several records,
so recovery dropped the last updates (docs/state-recovery.md). Here the consumer thread
corrects the highwaters with a probe read. Against Apache Kafka the probe finds nothing
beyond the reported end.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

import aiokafka
import faust
import structlog
from faust.auth import SASLCredentials, SSLCredentials
from faust.transport.drivers import aiokafka as faust_aiokafka

from hub.transport import KafkaEndpoint, client_options
from hub.transport.probe import true_ends

log = structlog.get_logger("agents.transport")


class TrueEndConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """The aiokafka consumer thread, with highwaters corrected by a probe read and the
    fetch wait taken from settings (faust fixes it at 1.5 s).
    """

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(self.consumer.app, "fetch_max_wait_ms", None)
        if wait_ms is not None:
            # Read by the consumer when it starts and builds its fetcher; not started yet here.
            consumer._fetch_max_wait_ms = wait_ms
        return consumer

    async def _highwaters(self, partitions: list[Any]) -> Mapping[Any, int]:
        reported: Mapping[Any, int] = await super()._highwaters(partitions)
        if self.consumer.in_transaction or not reported:
            return reported
        app = cast("HubApp", self.consumer.app)
        corrected = await true_ends(app.kafka_endpoint, reported)
        short = {
            f"{tp.topic}:{tp.partition}": corrected[tp] - n
            for tp, n in reported.items()
            if corrected[tp] != n
        }
        if short:
            log.debug("highwaters_corrected", short_by=short)
        return corrected


class StreamReadOffsets(defaultdict[Any, int | None]):
    """faust's read offsets, kept for changelog partitions only (None for stream partitions).

    faust's fetch loop (``Consumer._drain_messages``) hands each record on, then marks its offset
    as read; a record at or below the read offset is dropped as "already read", and a jump past
    it is recorded as a gap that the offset commit may skip. After a seek, a batch fetched
    before the seek can still be handed on and move the read offset past records the seek had
    just rewound to: the re-read then dropped them, and faust committed past them. A feed
    record was lost for good that way (docs/state-recovery.md, 2026-12-05). With no read
    offset, every stream record fetched is handed on: a record fetched twice is processed
    twice, which everything downstream absorbs (ingest's dedupe, subject state keyed by event
    id, alert ids, the sequencer's dedupe), and a commit never passes a record not handed on.
    """

    def __init__(self) -> None:
        super().__init__(lambda: None)

    def __setitem__(self, tp: Any, offset: int | None) -> None:
        super().__setitem__(tp, None if _is_stream(tp) else offset)

    def update(self, *args: Any, **kwargs: Any) -> None:  # faust's perform_seek uses update
        for tp, offset in dict(*args, **kwargs).items():
            self[tp] = offset


class StreamGate:
    """Holds stream records from a seek to the committed offsets until the flow resumes.

    After a rebalance faust resumes the stream partitions, seeks them to their committed
    offsets, then resumes flow control, which clears every agent's queue (``clear_on_resume``),
    and only then the consumer's flow (``Recovery.on_recovery_completed`` and
    ``_resume_streams`` in faust/tables/recovery.py). The fetcher runs all along: a record
    handed to an agent's queue between the seek and that clear was dropped unprocessed, and
    nothing fetched it again, the fetch position being past it already (docs/state-recovery.md,
    2026-12-06). Held here instead, such a record reaches its agent after the clear.
    """

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._held = 0

    def close(self) -> None:
        self._open.clear()

    def open(self) -> int:
        """Let held records through; return how many were held since the gate closed."""
        self._open.set()
        held, self._held = self._held, 0
        return held

    def wrap(self, callback: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
        """``callback`` (faust's hand-on of one fetched record), waiting while the gate is shut.

        Only stream records wait: table recovery reads changelogs with the flow resumed.
        """

        async def gated(message: Any) -> None:
            if not self._open.is_set() and _is_stream(message.tp):
                self._held += 1
                await self._open.wait()
            await callback(message)

        return gated


class TrueEndConsumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer using :class:`TrueEndConsumerThread`, whose seek to the
    committed offsets also rewinds partitions that have none, which keeps no read offset
    for stream partitions (:class:`StreamReadOffsets`), holds stream records from a seek to
    the flow's resumption (:class:`StreamGate`), and never commits a stream partition that
    has no committed offset past a record it did not process.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_offset = StreamReadOffsets()
        self._gate = StreamGate()
        self.callback = self._gate.wrap(self.callback)
        #: Where each stream partition with no committed offset was rewound to (its start).
        self._stream_start: dict[Any, int] = {}

    def _new_consumer_thread(self) -> TrueEndConsumerThread:
        return TrueEndConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def perform_seek(self) -> None:
        """Seek to the committed offsets with stream records held until :meth:`resume_flow`."""
        self._gate.close()
        await super().perform_seek()

    def resume_flow(self) -> None:
        """Resume the flow and let stream records through (after faust cleared the queues)."""
        super().resume_flow()
        held = self._gate.open()
        if held:
            log.info("stream_records_held", records=held)

    async def seek_to_committed(self) -> Mapping[Any, int]:
        """Seek every assigned partition to its committed offset, or to its start if none.

        faust calls this after a rebalance and whenever it dropped fetched records because
        its flow was suspended ("seek back to committed offsets"). aiokafka leaves a partition
        with no committed offset where its fetch position happens to be, so records fetched
        and then dropped there were skipped until the next restart (docs/state-recovery.md).
        Rewinding such a partition to its start re-reads at most what was never committed;
        everything downstream is idempotent.
        """
        committed: Mapping[Any, int] = await super().seek_to_committed()
        uncommitted = [tp for tp, offset in committed.items() if not offset and _is_stream(tp)]
        if uncommitted:
            await self._thread.seek_to_beginning(*uncommitted)
            self._stream_start = dict(await self._thread.earliest_offsets(*uncommitted))
            log.info("uncommitted_partitions_rewound", partitions=len(uncommitted))
        else:
            self._stream_start = {}
        return committed

    def _new_offset(self, tp: Any) -> int | None:
        """The offset to commit for ``tp``: faust's, but none past an unprocessed start.

        faust commits the run of acknowledged offsets that begins at the lowest one, and
        checks that run against the committed offset only when there is one. A partition with
        none was rewound to its start (:meth:`seek_to_committed`): a record acknowledged
        before the start was processed must not carry the commit past it.
        """
        acked = self._acked.get(tp)
        start = self._stream_start.get(tp)
        uncommitted = self._committed_offset[tp] is None
        if acked and start is not None and uncommitted and min(acked) > start:
            return None
        offset: int | None = super()._new_offset(tp)
        return offset


def _is_stream(tp: Any) -> bool:
    """True for a partition of a stream topic; changelogs are positioned by table recovery."""
    return not str(tp.topic).endswith("-changelog")


class HubTransport(faust_aiokafka.Transport):
    """faust's aiokafka transport with the true-end consumer."""

    Consumer = TrueEndConsumer


class HubApp(faust.App):
    """The hub's faust app: faust with a recovery that reaches the true end of changelogs."""

    #: The worker consumer's fetch wait (``Settings.fetch_max_wait_ms``); None keeps faust's.
    fetch_max_wait_ms: int | None = None
    #: The brokers and their security, for the probe reads beside faust's own clients.
    kafka_endpoint: KafkaEndpoint

    def _new_transport(self) -> HubTransport:
        return HubTransport(self.conf.broker_consumer, self)


def broker_credentials(endpoint: KafkaEndpoint) -> faust.types.auth.CredentialsT | None:
    """faust's ``broker_credentials`` for ``endpoint``, built from the same client options as
    every other Kafka client of the hub (``hub.transport.client_options``); faust hands them
    to each aiokafka client it makes (consumer, producer, admin). None for PLAINTEXT.
    """
    options = client_options(endpoint)
    protocol = options["security_protocol"]
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return SSLCredentials(options["ssl_context"])
    return SASLCredentials(
        username=options["sasl_plain_username"],
        password=options["sasl_plain_password"],
        ssl_context=options.get("ssl_context"),
        mechanism=options["sasl_mechanism"],
    )
