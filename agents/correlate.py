"""The correlation agent: accepted events into per-subject state, flags into the outbox.

Besides events, the accepted topic carries two kinds of marker, told apart by a header:
- agreement switch markers (``hub dsa publish``), where this partition changes agreement
  version;
- clock ticks, which let flags expire as time passes.

Both are handled in stream order, so every worker and every replay sees the same sequence.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import faust
import structlog
from aiokafka.partitioner import DefaultPartitioner

from agents.headers import header_items, raw_topic
from hub import metrics
from hub.config import Settings
from hub.correlate import Correlator
from hub.dispatch import Moment, Step, SubjectState
from hub.errors import HubError
from hub.policy import (
    KIND_HEADER,
    SWITCH_KIND,
    TICK_KIND,
    Moments,
    PolicyClock,
    Switch,
    tick_marker,
)
from hub.quarantine import SourceRef, quarantine
from hub.registry import Registry

log = structlog.get_logger("agents.correlate")
POLICY_KEY = "__policy__:{partition}"
SWITCH_WAIT_S = 0.2


class CorrelateAgent:
    """Holds the subject table, the policy clock and the output topics of one worker."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        correlator: Correlator,
        registry: Registry,
        clock: PolicyClock,
    ) -> None:
        self.settings = settings
        self.correlator = correlator
        self.registry = registry
        self.clock = clock
        self.outbox = raw_topic(app, settings.outbox_topic)
        self.decisions = raw_topic(app, settings.decisions_topic)
        self.quarantine = raw_topic(app, settings.quarantine_topic)
        self.subjects = app.Table(
            "subjects", default=None, key_type=str, value_type=bytes, partitions=settings.partitions
        )
        self.moments = Moments(clock, registry)
        self._partitioner = DefaultPartitioner()
        self._partitions = list(range(settings.partitions))
        self.origin: list[tuple[str, bytes]] = []  # the current record's, for its outbox records

    def moment(self, partition: int, at: datetime, offset: int) -> Moment:
        """Time, position and the agreements governing ``partition`` (:meth:`policy_ready`)."""
        return self.moments.at(partition, at, offset)

    async def policy_ready(self, partition: int) -> None:
        """Wait until every publication the partition's sequence names has been read.

        After a restart the sequence comes back from the table before this worker has read
        the agreements topic; deciding then would deny everything, silently.
        """
        sequence = self.clock.sequence(partition)
        while not self.clock.ready_for(Switch(sequence)):
            log.info("agreements_awaited", partition=partition, sequence=sequence)
            await asyncio.sleep(SWITCH_WAIT_S)

    async def emit(self, step: Step) -> None:
        """Queue the step's alerts for numbering and its decisions for the ledger."""
        for pending in step.pending:
            await self.outbox.send(
                key=pending.partnership_id.encode(),
                value=pending.to_bytes(),
                headers=list(self.origin),
            )
        for record in step.decisions:
            metrics.count_decision(record)
            value = record.model_dump_json().encode()
            await self.decisions.send(key=record.recipient.encode(), value=value)

    def restore(self, partition: int) -> None:
        """Resume the partition's agreement sequence from the table (after a restart or a move)."""
        stored = self.subjects.get(POLICY_KEY.format(partition=partition))
        if stored and int(stored) > self.clock.sequence(partition):
            self.clock.restore(partition, int(stored))

    async def handle(self, event: Any) -> str:
        """Process one accepted-topic record; returns its outcome for the log line."""
        message = event.message
        partition = message.partition
        self.restore(partition)
        self.origin = metrics.origin_headers(metrics.origin_of(header_items(message.headers)))
        at = datetime.fromtimestamp(message.timestamp, UTC)
        kind = dict(header_items(message.headers)).get(KIND_HEADER, b"").decode()
        if kind == SWITCH_KIND:
            await self.switch(partition, event.value, at, message.offset)
            return "switched"
        await self.policy_ready(partition)
        if kind == TICK_KIND:
            return f"ticked:{await self.rescan(partition, at, message.offset, flagged_only=True)}"
        return await self.fold(message.key, event.value, partition, (at, message.offset))

    async def fold(
        self, key: bytes | None, value: bytes, partition: int, when: tuple[datetime, int]
    ) -> str:
        """Add one event to its subject and dispatch; ``when`` is its (time, offset)."""
        token = (key or b"").decode()
        if not token or token.startswith("area:"):
            return "area_level"
        state = SubjectState.from_bytes(self.subjects.get(token))
        folded = self.correlator.fold(value, state, self.moment(partition, *when))
        if folded is None:
            return "not_contributing"
        self.subjects[folded.token] = folded.step.state.to_bytes()
        await self.emit(folded.step)
        ids = ",".join(f"{p.partnership_id}/{p.alert_id[:8]}" for p in folded.step.pending)
        return f"alerts:{len(folded.step.pending)}:{ids}"

    async def rescan(self, partition: int, at: datetime, offset: int, *, flagged_only: bool) -> int:
        """Re-decide the partition's subjects (all of them, or those holding flags)."""
        changed = 0
        for token, stored in list(self.subjects.items()):
            if token.startswith("__") or self._partition_of(token) != partition:
                continue
            state = SubjectState.from_bytes(stored)
            if flagged_only and not state.sent:
                continue
            step = self.correlator.rescan(token, state, self.moment(partition, at, offset))
            if step.pending or step.state != state:
                self.subjects[token] = step.state.to_bytes()
                await self.emit(step)
                changed += 1
        return changed

    async def switch(self, partition: int, value: bytes, at: datetime, offset: int) -> None:
        """Apply an agreement switch marker once its publications have been read."""
        marker = Switch.from_bytes(value)
        while not self.clock.ready_for(marker):
            log.info("switch_waiting", partition=partition, sequence=marker.sequence)
            await asyncio.sleep(SWITCH_WAIT_S)
        self.clock.switch(partition, marker)
        self.subjects[POLICY_KEY.format(partition=partition)] = str(marker.sequence).encode()
        changed = await self.rescan(partition, at, offset, flagged_only=False)
        log.info(
            "agreements_switched", partition=partition, sequence=marker.sequence, subjects=changed
        )

    def _partition_of(self, token: str) -> int:
        return int(self._partitioner(token.encode(), self._partitions, self._partitions))


def _notable(outcome: str) -> bool:
    """A quarantine, or an event that queued alerts: logged at INFO, the rest at DEBUG."""
    return outcome.startswith("quarantined") or (
        outcome.startswith("alerts:") and not outcome.startswith("alerts:0:")
    )


def register_correlate(
    app: faust.App,
    settings: Settings,
    correlator: Correlator,
    registry: Registry,
    clock: PolicyClock,
) -> None:
    """Attach the correlation agent, its subject table and the clock-tick timer to ``app``."""
    agent = CorrelateAgent(app, settings, correlator, registry, clock)
    accepted = raw_topic(app, settings.accepted_topic)

    async def correlate_agent(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            started = time.perf_counter()
            message = event.message
            try:
                outcome = await agent.handle(event)
            except Exception as exc:  # noqa: BLE001  # an escaping error would ack the record: quarantine it instead
                error = (
                    exc
                    if isinstance(exc, HubError)
                    else HubError(f"unexpected {type(exc).__name__}")
                )
                source = SourceRef(
                    topic=message.topic, partition=message.partition, offset=message.offset
                )
                record = quarantine(event.value, source, error, key=message.key)
                await agent.quarantine.send(value=record.to_bytes())
                outcome = f"quarantined:{record.reason}"
                metrics.count_quarantine("correlate", record.reason)
            line = log.info if _notable(outcome) else log.debug  # see agents/ingest.py
            line(
                "accepted_processed",
                partition=message.partition,
                offset=message.offset,
                outcome=outcome,
                policy=clock.sequence(message.partition),
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

    async def tick() -> None:
        for tp in app.consumer.assignment():
            if tp.topic == settings.accepted_topic:
                await accepted.send(
                    key=b"__tick__",
                    value=tick_marker(),
                    partition=tp.partition,
                    headers=[(KIND_HEADER, TICK_KIND.encode())],
                )

    app.agent(accepted, name="correlate")(correlate_agent)
    app.timer(interval=settings.tick_interval_s)(tick)
