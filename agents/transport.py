"""A faust transport whose recovery reads changelogs to their true end.

faust decides where table recovery stops from the consumer's highwater (ListOffsets
"latest"). On the embedded broker that is too low when the newest batch holds several records,
so recovery dropped the last updates (docs/state-recovery.md). Here the consumer thread
corrects the highwaters with a probe read. Against Apache Kafka the probe finds nothing
beyond the reported end.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from typing import Any, cast

import aiokafka
import faust
import structlog
from faust.transport.drivers import aiokafka as faust_aiokafka

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
        brokers = ";".join(str(url) for url in self.consumer.app.conf.broker_consumer)
        corrected = await true_ends(brokers, reported)
        short = {
            f"{tp.topic}:{tp.partition}": corrected[tp] - n
            for tp, n in reported.items()
            if corrected[tp] != n
        }
        if short:
            log.debug("highwaters_corrected", short_by=short)
        return corrected


class TrueEndConsumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer using :class:`TrueEndConsumerThread`, whose seek to the
    committed offsets also rewinds partitions that have none, and which never lets a batch
    fetched before a seek move the read offset past records the seek is to re-read.
    """

    #: Seeks to the committed offsets started and finished so far (:meth:`getmany`).
    _seeks_started = 0
    _seeks_done = 0
    #: Where the last seek put each partition's read offset (None: read from the fetch start).
    _seek_positions: Mapping[Any, int | None] = {}

    def _new_consumer_thread(self) -> TrueEndConsumerThread:
        return TrueEndConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def seek_to_committed(self) -> Mapping[Any, int]:
        """Seek every assigned partition to its committed offset, or to its start if none.

        faust calls this after a rebalance and whenever it dropped fetched records because
        its flow was suspended ("seek back to committed offsets"). aiokafka leaves a partition
        with no committed offset where its fetch position happens to be, so records fetched
        and then dropped there were skipped until the next restart (docs/state-recovery.md).
        Rewinding such a partition to its start re-reads at most what was never committed;
        everything downstream is idempotent.
        """
        self._seeks_started += 1
        try:
            committed: Mapping[Any, int] = await super().seek_to_committed()
            uncommitted = [tp for tp, offset in committed.items() if not offset and _is_stream(tp)]
            if uncommitted:
                await self._thread.seek_to_beginning(*uncommitted)
                log.info("uncommitted_partitions_rewound", partitions=len(uncommitted))
            self._seek_positions = {
                tp: offset if offset is not None and offset >= 0 else None
                for tp, offset in committed.items()
            }
        finally:
            self._seeks_done += 1
        return committed

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:  # noqa: ASYNC109  # faust's signature
        """faust's batches, less the stream records of a batch that a seek overtook.

        faust's fetch loop marks each record it hands on as read, and drops records at or
        below the read offset when they come again. A batch fetched before a seek but handed
        on after it therefore moved the read offset past records the seek had just rewound
        to, so the re-read skipped them, faust counted them as a gap and committed past them:
        a feed record lost for good (docs/reliability.md, two workers, one killed). Here such
        records are dropped instead (they come again from the new position), and a record
        that was being handled while a seek ran puts the read offset back where the seek left
        it. Changelog records are left alone: table recovery positions those.
        """
        started: int | None = None
        dropped = 0
        fetched = cast(AsyncGenerator[tuple[Any, Any], None], super().getmany(timeout))
        async with aclosing(fetched) as batch:  # faust's getmany is an async generator
            async for tp, message in batch:
                if started is None:
                    started = self._seeks_started  # fetched just now: nothing awaited since
                stream = _is_stream(tp)
                if stream and self._seeks_started != started:
                    dropped += 1  # a seek began after this batch was fetched
                    continue
                done = self._seeks_done
                yield tp, message
                if stream and self._seeks_done != done:
                    # A seek ended while this record was handled, after faust had reset the
                    # read offsets: the record's own offset must not stand in their place.
                    self._read_offset[tp] = self._seek_positions.get(tp)
        if dropped:
            log.info("records_dropped_after_seek", records=dropped)


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

    def _new_transport(self) -> HubTransport:
        return HubTransport(self.conf.broker_consumer, self)
