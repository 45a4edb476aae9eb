"""Every worker follows the consent-taking agencies' feeds, so withdrawal works on receipt.

The follower reads every partition of those feeds from the start (no consumer group: each
worker holds every withdrawal, however partitions are spread) into a
:class:`~hub.consent.watch.WithdrawalWatch`, which keeps the authenticated withdrawals and
expiries. A claimed end that does not authenticate is refused, counted and alarmed
(``hub.refusal``), never applied. :meth:`ConsentFeeds.watermark` is the barrier the
correlation service (``hub.correlation``) takes before a decision that could disclose on
consent (``docs/consent.md``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import datetime

import faust
import structlog

from agents.headers import header_items
from agents.ingest import received_at
from hub.consent.ledger import ConsentLedger
from hub.consent.watch import WithdrawalWatch
from hub.dispatch import FeedMark
from hub.errors import HubError
from hub.ingest import FeedMessage
from hub.quarantine import SourceRef
from hub.refusal import Position, refused
from hub.transport import (
    ConsumerRecord,
    KafkaConsumer,
    KafkaEndpoint,
    TopicPartition,
    new_consumer,
)
from hub.transport.failure import translated

log = structlog.get_logger("agents.consent")
#: How often a barrier checks the follower's progress, and how often it says it is waiting.
REACH_POLL_S = 0.005
WAIT_LOG_S = 5.0
#: How long the follower waits before reconnecting after a broker failure, doubling up to max.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0
#: Large fetches: a backlog of thousands of records is read at the consumer's full speed.
FETCH_BYTES = 8 * 1024 * 1024


class ConsentFeeds:
    """The follower of the consent feeds and the barrier that reads them to their end."""

    def __init__(
        self,
        endpoint: KafkaEndpoint,
        topics: dict[str, str],
        watch: WithdrawalWatch,
        fetch_wait_ms: int = 20,
    ) -> None:
        self.endpoint = endpoint
        self.topics = topics
        """Feed topic -> agency id, for the consent-taking agencies."""
        self.watch = watch
        self.fetch_wait_ms = fetch_wait_ms
        """The follower's fetch wait: the worker consumer's (``Settings.fetch_max_wait_ms``).
        Apache Kafka answers a fetch when records arrive, so there the wait only bounds idle
        polling; the embedded broker answers when it runs out, so there it bounds how long a
        barrier waits for a record just written (the demo and the benchmark use 20 ms)."""
        self._partitions: list[TopicPartition] = []
        self._offsets: KafkaConsumer | None = None
        self._started = asyncio.Event()

    async def follow(self) -> None:
        """Read every partition of the consent feeds from the start, forever.

        A broker failure does not end it: it waits and reads on from where it was, since a
        barrier (:meth:`watermark`) waits for it and must not wait for ever.
        """
        delay = RETRY_FIRST_S
        while True:
            try:
                await self._follow_once()
            except (HubError, OSError) as exc:
                log.warning("consent_feeds_unreachable", error=type(exc).__name__, retry_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    async def _follow_once(self) -> None:
        consumer = new_consumer(
            self.endpoint,
            enable_auto_commit=False,
            group_id=None,
            fetch_max_wait_ms=self.fetch_wait_ms,
            max_partition_fetch_bytes=FETCH_BYTES,
        )
        offsets = new_consumer(self.endpoint, enable_auto_commit=False, group_id=None)
        try:
            async with translated(self.endpoint, "follow the consent feeds"):
                await consumer.start()
                await offsets.start()
                await consumer.topics()
                self._partitions = [
                    TopicPartition(topic, n)
                    for topic in sorted(self.topics)
                    for n in sorted(consumer.partitions_for_topic(topic) or ())
                ]
                consumer.assign(self._partitions)
                for tp in self._partitions:  # from the start, or on from where we were
                    consumer.seek(tp, self.watch.positions.get((tp.topic, tp.partition), 0))
                self._offsets = offsets
                self._started.set()
                while True:
                    # A whole fetch is read before the next await: the watch never holds
                    # part of a record batch (see :meth:`watermark`).
                    batch = await consumer.getmany(timeout_ms=200)
                    for records in batch.values():
                        for record in records:
                            self._read(record)
        finally:
            self._started.clear()
            self._offsets = None
            await consumer.stop()
            await offsets.stop()

    def _read(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """One feed record into the watch; one that cannot be used is refused, never applied."""
        message = FeedMessage(
            value=record.value or b"",
            key=record.key,
            headers=header_items(record.headers),
            source=SourceRef(topic=record.topic, partition=record.partition, offset=record.offset),
            feed_agency=self.topics.get(record.topic, ""),
            received_at=received_at(record.timestamp / 1000),  # aiokafka's timestamps are in ms
        )
        try:
            self.watch.read(message)
        except Exception as exc:  # noqa: BLE001  # no record may stop a reader (docs/threat-model.md)
            refused(Position(record.topic, record.partition, record.offset), exc)

    async def watermark(self) -> tuple[FeedMark, ...]:
        """Read the consent feeds to their end as of now; returns the positions the follower read.

        Every withdrawal the broker acknowledged before this call is then in the watch. The
        end offsets come from one ListOffsets. The embedded broker answers it with the newest
        record batch's base offset + 1, short of the batch's other records (BROKER.md), yet
        that is enough here: a fetch returns whole batches and the follower reads a fetch
        whole before the next await, so having read the base record means holding its batch.
        A decision must not be taken without the watermark, so this waits as long as it takes.
        """
        started = time.monotonic()
        while True:
            await self._started.wait()
            offsets = self._offsets
            if offsets is None:
                continue  # the follower is reconnecting
            try:
                async with translated(self.endpoint, "read the consent feeds' ends"):
                    reported = await offsets.end_offsets(self._partitions)
                break
            except HubError as exc:
                log.warning("consent_feed_ends_unreadable", error=type(exc).__name__)
                await asyncio.sleep(RETRY_FIRST_S)
        ends = {(tp.topic, tp.partition): offset for tp, offset in reported.items()}
        while not self.watch.reached(ends):
            if time.monotonic() - started > WAIT_LOG_S:
                log.warning("consent_feeds_awaited", behind=len(ends))
                started = time.monotonic()
            await asyncio.sleep(REACH_POLL_S)
        # The positions the follower had actually read: at or past the ends, and the truth for
        # the auditor where the embedded broker's ends are short.
        reached = {tp: max(end, self.watch.positions.get(tp, 0)) for tp, end in ends.items()}
        return tuple(
            FeedMark(topic=t, partition=p, offset=o) for (t, p), o in sorted(reached.items())
        )

    def fold(
        self,
        token: str,
        ledger: ConsentLedger,
        at: datetime,
        below: Iterable[FeedMark] | None = None,
    ) -> ConsentLedger:
        """The subject's ends read so far (below ``below``) folded into ``ledger``."""
        return self.watch.fold(token, ledger, at, below)


def register_consent_feeds(app: faust.App, feeds: ConsentFeeds) -> None:
    """Start the follower as a worker task."""

    async def follow_consent_feeds() -> None:
        await feeds.follow()

    app.task(follow_consent_feeds)
