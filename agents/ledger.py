"""The ledger agent: follows the decisions topic into a Merkle tree, publishes signed tree heads.

Every worker follows the whole decisions topic (one partition, no consumer group) into its own
:class:`~hub.audit.Ledger`. One worker writes heads: the one that owns partition 0 of the
accepted topic (the designated partition). Before each publication it reads the heads topic to
its true end and chains from the last head there, so a worker that takes over after a
rebalance continues the same chain. If two workers briefly both believe they own the
partition, the worst case is a head repeating a checkpoint already signed, which verifiers
count as redundant (same size and root): publication is idempotent by size.
"""

from __future__ import annotations

from datetime import UTC, datetime

import faust
import structlog
from aiokafka.structs import ConsumerRecord

from hub import metrics
from hub.audit import Ledger, TreeHead, decode_head
from hub.config import Settings
from hub.crypto import SigningKey
from hub.errors import AuditError, TransportError
from hub.transport import kafka_endpoint
from hub.transport.topiclog import follow_partition, read_partition

log = structlog.get_logger("agents.ledger")
DESIGNATED_PARTITION = 0


class LedgerWriter:
    """One worker's ledger, and the publication of heads when this worker is the writer."""

    def __init__(self, app: faust.App, settings: Settings, hub_key: SigningKey) -> None:
        self.app = app
        self.settings = settings
        self.hub_key = hub_key
        self.ledger = Ledger()

    def observe(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Fold one decisions-topic record into the ledger; refusals are logged loudly."""
        try:
            appended = self.ledger.append(record.value or b"")
        except AuditError as exc:
            log.exception(
                "decision_refused", offset=record.offset, error=type(exc).__name__, detail=str(exc)
            )
            return
        metrics.LEDGER_ENTRIES.set(len(self.ledger))
        if appended.repeat:
            log.info("decision_repeated", offset=record.offset, index=appended.index)

    def is_writer(self) -> bool:
        """Whether this worker owns the designated partition of the accepted topic."""
        return any(
            tp.topic == self.settings.accepted_topic and tp.partition == DESIGNATED_PARTITION
            for tp in self.app.consumer.assignment()
        )

    async def last_head(self) -> TreeHead | None:
        """The newest head on the heads topic, read to its true end."""
        values: list[bytes] = []

        def keep(record: ConsumerRecord[bytes, bytes]) -> None:
            values.append(record.value or b"")

        count = await read_partition(kafka_endpoint(self.settings), self.settings.heads_topic, keep)
        return decode_head(values[-1], count - 1) if values else None

    async def publish(self, now: datetime) -> str:
        """Publish heads up to the ledger's size; returns the outcome for the log line."""
        last = await self.last_head()
        metrics.tree_head_seen(last)
        if last is not None and last.size >= len(self.ledger):
            return "up_to_date" if last.size == len(self.ledger) else "catching_up"
        heads = self.ledger.heads_since(last, self.hub_key, now)
        for head in heads:
            await self.app.producer.send_and_wait(
                self.settings.heads_topic, b"head", head.to_bytes(), None, None, []
            )
        metrics.tree_head_seen(heads[-1] if heads else None)
        return f"published:{len(heads)}"


def register_ledger(app: faust.App, settings: Settings, hub_key: SigningKey) -> None:
    """Attach the decisions follower and the tree-head timer to ``app``."""
    writer = LedgerWriter(app, settings, hub_key)

    async def follow_decisions() -> None:
        await follow_partition(kafka_endpoint(settings), settings.decisions_topic, writer.observe)

    async def publish_heads() -> None:
        if not writer.is_writer():
            return
        try:
            outcome = await writer.publish(datetime.now(UTC))
        except AuditError as exc:
            log.exception("tree_head_refused", error=type(exc).__name__, detail=str(exc))
            return
        except TransportError as exc:  # retriable: the next tick tries again
            log.warning("tree_head_deferred", error=type(exc).__name__, detail=str(exc))
            return
        log.info("tree_head_checked", outcome=outcome, size=len(writer.ledger))

    app.task(follow_decisions)
    app.timer(interval=settings.head_interval_s)(publish_heads)
