"""The ledger agent: follows the decisions topic into a Merkle tree, publishes signed tree heads.

Every worker follows the whole decisions topic (one partition, no consumer group) into its own
:class:`~hub.audit.Ledger`. One worker writes heads: the one that owns partition 0 of the
accepted topic (the designated partition). Before each publication it reads the heads topic to
its true end and chains from the last head there, so a worker that takes over after a
rebalance continues the same chain. If two workers briefly both believe they own the
partition, the worst case is a head repeating a checkpoint already signed, which verifiers
count as redundant (same size and root): publication is idempotent by size.

Trust: only records that verify as hub-signed decisions (``hub.audit.sealed``) enter the
ledger, and the writer extends only the chain of heads it can verify (``HeadChain``): a head
that is not the hub's is skipped, refused and counted, and sealing goes on from the newest
genuine head. ``hub audit verify`` still names the skipped head and every uncovered record.

The follower shares the worker's event loop with the agents. Its consumer hands over what a
fetch returned, often hundreds of decisions; folding those in one go held the loop for tens
of milliseconds, and every alert in flight waited (docs/benchmarks-history.md). So the follower only
queues the records it reads (:meth:`LedgerWriter.received`) and :meth:`LedgerWriter.fold`
folds them in offset order, one record at a time, letting the loop run between two.

The fold is background work: no alert waits for it, and a head covers what was folded when
it is published. So while the loop is busy (a step of it took longer than :data:`BUSY_S`:
the agents have records to process) the fold waits :data:`FOLD_BACKOFF_S` and asks again,
instead of taking its share of every step; at 1,000 events/s it was about 7 % of the
worker's CPU, taken when the worker was shortest of it (docs/benchmarks-history.md, "Latency,
seventh session"). It never waits with :data:`DEFER_MAX` records or more queued, so the
queue does not reach :data:`UNFOLDED_MAX`, where records would be folded as they arrive.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import faust
import structlog

from hub import metrics
from hub.audit import DECISIONS_KINDS, HeadChain, Ledger, TreeHead
from hub.config import Settings
from hub.crypto.record import Place
from hub.errors import AuditError, CryptoError, HeadChainError, HeadSignatureError, TransportError
from hub.refusal import Position, refused
from hub.runtime import WorkerKeys
from hub.transport import Record, kafka_endpoint
from hub.transport.topiclog import follow_partition, read_partition
from hub.transport.visit import visit_safely

log = structlog.get_logger("agents.ledger")
DESIGNATED_PARTITION = 0
#: Records the follower queues for :meth:`LedgerWriter.fold` at most (memory stays bounded).
UNFOLDED_MAX = 1_024
#: Queued records from which the fold goes on however busy the loop is.
DEFER_MAX = UNFOLDED_MAX // 2
#: A loop step longer than this means the agents have work: the fold waits.
BUSY_S = 0.005
#: How long the fold waits before it asks again whether the loop is busy.
FOLD_BACKOFF_S = 0.02
#: A record queued this long is folded however busy the loop is: under a steady load the
#: ledger's head lags what was read by about this much at most (or :data:`DEFER_MAX` records).
FOLD_WAIT_MAX_S = 1.0


async def loop_busy() -> bool:
    """Whether one step of the event loop took longer than :data:`BUSY_S`."""
    loop = asyncio.get_running_loop()
    asked = loop.time()
    await asyncio.sleep(0)
    return loop.time() - asked > BUSY_S


class LedgerWriter:
    """One worker's ledger, and the publication of heads when this worker is the writer."""

    def __init__(self, app: faust.App, settings: Settings, keys: WorkerKeys) -> None:
        self.app = app
        self.settings = settings
        self.keys = keys
        self.hub_key = keys.hub
        self.ledger = Ledger()
        self.chain = HeadChain()
        self.unfolded: deque[tuple[float, Record]] = deque()
        """Records read and not yet folded, each with when it was queued (:attr:`clock`)."""
        self._arrived = asyncio.Event()
        self.busy: Callable[[], Awaitable[bool]] = loop_busy
        self.clock: Callable[[], float] = time.monotonic

    def received(self, record: Record) -> None:
        """Queue a record the follower read, for :meth:`fold` (in the order read). While
        the follower reads faster than the fold keeps up (a start reads the topic from its
        beginning), the oldest records past :data:`UNFOLDED_MAX` are folded here, so the
        queue holds a bounded number of records."""
        self.unfolded.append((self.clock(), record))
        while len(self.unfolded) > UNFOLDED_MAX:
            visit_safely(self.observe, self.unfolded.popleft()[1])  # refused, never fatal
        self._arrived.set()

    async def fold(self) -> None:
        """Fold the queued records into the ledger as they come, one at a time with the
        event loop let run between two, until cancelled. While the loop is busy the fold
        waits, unless :data:`DEFER_MAX` records are queued or the oldest has waited
        :data:`FOLD_WAIT_MAX_S`: the head never falls further behind than that."""
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self.unfolded:
                overdue = self.clock() - self.unfolded[0][0] >= FOLD_WAIT_MAX_S
                if len(self.unfolded) < DEFER_MAX and not overdue and await self.busy():
                    await asyncio.sleep(FOLD_BACKOFF_S)
                    continue
                visit_safely(self.observe, self.unfolded.popleft()[1])  # refused, never fatal
                await asyncio.sleep(0)

    def observe(self, record: Record) -> None:
        """Fold one decisions-topic record into the ledger if it is the hub's; else refuse it."""
        position = Position(record.topic, record.partition, record.offset)
        place = Place(record.topic, record.partition)
        try:
            opened = self.keys.verifier.open(record.value or b"", place, DECISIONS_KINDS)
        except CryptoError as exc:
            refused(position, exc)
            return
        for item in opened.items:
            try:
                appended = self.ledger.append(item)
            except AuditError as exc:
                refused(position, exc)
                continue
            if appended.repeat:
                log.info("decision_repeated", offset=record.offset, index=appended.index)
        metrics.LEDGER_ENTRIES.set(len(self.ledger))

    def is_writer(self) -> bool:
        """Whether this worker owns the designated partition of the accepted topic."""
        return any(
            tp.topic == self.settings.accepted_topic and tp.partition == DESIGNATED_PARTITION
            for tp in self.app.consumer.assignment()
        )

    async def last_head(self) -> TreeHead | None:
        """The newest genuine head of the chain on the heads topic, read to its true end.

        Heads already folded are not checked again; a new one that is not the hub's is
        skipped, refused and counted. A genuine head that breaks the chain raises (only the
        holder of a hub key can write one), and the chain is read afresh next time.
        """
        values: list[bytes] = []

        def keep(record: Record) -> None:
            values.append(record.value or b"")

        await read_partition(kafka_endpoint(self.settings), self.settings.heads_topic, keep)
        self.chain.anchors = {k.key_id: k for k, _ in self.keys.verifier.keys.hub.values()}
        for value in values[self.chain.position :]:
            try:
                head = self.chain.add(value)
            except (HeadChainError, HeadSignatureError):
                self.chain = HeadChain()
                raise
            if head is None:
                error = self.chain.errors[-1]
                refused(Position(self.settings.heads_topic, 0, error.head), error)
        return self.chain.last

    async def publish(self, now: datetime) -> str:
        """Publish heads up to the ledger's size; returns the outcome for the log line."""
        last = await self.last_head()
        metrics.tree_head_seen(last)
        if last is not None and last.size >= len(self.ledger):
            return "up_to_date" if last.size == len(self.ledger) else "catching_up"
        at = max(now, last.timestamp) if last is not None else now
        heads = self.ledger.heads_since(last, self.hub_key, at)
        for head in heads:
            await self.app.producer.send_and_wait(
                self.settings.heads_topic, b"head", head.to_bytes(), 0, None, []
            )
        metrics.tree_head_seen(heads[-1] if heads else None)
        return f"published:{len(heads)}"


def register_ledger(app: faust.App, settings: Settings, keys: WorkerKeys) -> None:
    """Attach the decisions follower and the tree-head timer to ``app``."""
    writer = LedgerWriter(app, settings, keys)

    async def follow_decisions() -> None:
        folding = asyncio.ensure_future(writer.fold())
        try:
            await follow_partition(
                kafka_endpoint(settings), settings.decisions_topic, writer.received
            )
        finally:
            folding.cancel()

    async def publish_heads() -> None:
        try:
            if not writer.is_writer():
                return
            outcome = await writer.publish(datetime.now(UTC))
        except AuditError as exc:
            log.error("tree_head_refused", error=type(exc).__name__, detail=str(exc))  # noqa: TRY400  # an alarm, not a crash: no traceback to show
            return
        except TransportError as exc:  # retriable: the next tick tries again
            log.warning("tree_head_deferred", error=type(exc).__name__, detail=str(exc))
            return
        except Exception as exc:  # noqa: BLE001  # an error escaping a timer crashes the worker
            log.warning("tree_head_deferred", error=type(exc).__name__)
            return
        log.info("tree_head_checked", outcome=outcome, size=len(writer.ledger))

    app.task(follow_decisions)
    app.timer(interval=settings.head_interval_s)(publish_heads)
