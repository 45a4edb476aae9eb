"""The correlation agent: accepted events into per-subject state, flags into the outbox.

Besides events, the accepted topic carries two kinds of marker, told apart by a header:
- agreement switch markers (``hub dsa publish``), where this partition changes agreement
  version;
- clock ticks, which let flags expire as time passes.

Both are handled in stream order, so every worker and every replay sees the same sequence.

Every record is an internal record (``hub.crypto.record``) verified for the partition it was
read from before anything else: events and ticks MACed by the hub, switch markers signed by
information governance. Anything else is refused and counted (``hub.refusal``) and changes
nothing. The decision time is the record's authenticated time, never the broker's timestamp.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import faust
import structlog

from agents.consent import ConsentFeeds
from agents.headers import header_items, raw_topic
from agents.tables import verified_table
from hub import metrics
from hub.config import Settings
from hub.consent import GIVEN
from hub.correlate import Correlator
from hub.crypto.record import Kind, Place
from hub.crypto.tablevalue import Row, seal_value, value_of
from hub.crypto.trust import seal_record
from hub.dispatch import FeedMark, Moment, Step, SubjectState, Trigger
from hub.errors import CryptoError, HubError
from hub.hotspot import AreaState, AreaWatch, fold_area
from hub.models import Event
from hub.policy import Moments, PolicyClock, Switch
from hub.quarantine import SourceRef, quarantine
from hub.refusal import Position, refused
from hub.registry import Registry
from hub.rules.area import load_area_rules
from hub.runtime import WorkerKeys
from hub.sna import CountContext, Located
from hub.sna.stream import TABLE as SNA_TABLE
from hub.sna.stream import Mark, tally
from hub.transport.partitioner import partition_for

log = structlog.get_logger("agents.correlate")
POLICY_KEY = "__policy__:{partition}"
AREA_KEY = "__area__:{lsoa}"
"""The subject-table row of an LSOA's counts for place-based alerts (``hub.hotspot``)."""
SWITCH_WAIT_S = 0.2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Any time: the SNA counter asks a moment only for its agreements (decided at the record's)."""
#: What the accepted topic carries: events (ingest), ticks (this agent), markers (governance).
ACCEPTED_KINDS = frozenset({Kind.EVENTS, Kind.TICK, Kind.SWITCH})


class CorrelateAgent:
    """Holds the subject table, the policy clock and the output topics of one worker."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        correlator: Correlator,
        clock: PolicyClock,
        keys: WorkerKeys,
    ) -> None:
        self.settings = settings
        self.correlator = correlator
        self.clock = clock
        self.keys = keys
        self.outbox = raw_topic(app, settings.outbox_topic)
        self.decisions = raw_topic(app, settings.decisions_topic)
        self.quarantine = raw_topic(app, settings.quarantine_topic)
        self.subjects = verified_table(app, "subjects", keys.verifier, settings.partitions)
        self.sna = verified_table(app, SNA_TABLE, keys.verifier, settings.partitions)
        self.sna_context: CountContext | None = None
        self.moments: Moments | None = None
        self.watch: AreaWatch | None = None
        self.origin: list[tuple[str, bytes]] = []  # the current record's, for its outbox records
        self.feeds: ConsentFeeds | None = None
        self.watermark: tuple[FeedMark, ...] | None = None  # taken once per record, if needed

    def moment(self, partition: int, at: datetime, offset: int) -> Moment:
        """Time, position and the agreements governing ``partition`` (:meth:`policy_ready`)."""
        assert self.moments is not None  # noqa: S101  # set by register_correlate
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
        """Queue the step's alerts for numbering and its decisions for the ledger.

        Each outbox record is MACed for the partition it goes to; the step's decisions go
        as one record signed by the hub (auditors verify it with the public key alone).
        """
        now = datetime.now(UTC)
        for pending in step.pending:
            key = pending.partnership_id.encode()
            place = Place(self.settings.outbox_topic, partition_for(key, self.settings.partitions))
            value = seal_record(Kind.ALERTS, now, (pending.to_bytes(),), place, self.keys.internal)
            await self.outbox.send(
                key=key, value=value, partition=place.partition, headers=list(self.origin)
            )
        if step.decisions:
            for record in step.decisions:
                metrics.count_decision(record)
            items = tuple(record.model_dump_json().encode() for record in step.decisions)
            place = Place(self.settings.decisions_topic, 0)
            value = seal_record(Kind.DECISIONS, now, items, place, self.keys.hub)
            await self.decisions.send(key=b"decisions", value=value, partition=0)

    def load(self, row: str) -> tuple[bytes | None, int]:
        """A row of the subject table: its value (None if absent) and its version."""
        stored = self.subjects.get(row.encode())
        if stored is None:
            return None, 0
        held = value_of(stored)
        return held.value, held.version

    def store(
        self, row: str, value: bytes, position: tuple[int, int], held: int | None = None
    ) -> None:
        """Write a row sealed for it and for the partition being processed (faust writes the
        changelog there), versioned by the offset of ``position`` (partition, offset) and never
        below the version it holds (``held``, when the caller has just read it)."""
        partition, offset = position
        if held is None:
            _, held = self.load(row)
        place = Row(self.subjects.name, partition, row.encode())
        self.subjects[place.key] = seal_value(self.keys.internal, place, max(held, offset), value)

    def restore(self, partition: int) -> None:
        """Resume the partition's agreement sequence from the table (after a restart or a move)."""
        stored, _ = self.load(POLICY_KEY.format(partition=partition))
        sequence = int(stored) if stored and stored.isdigit() else 0
        if sequence > self.clock.sequence(partition):
            self.clock.restore(partition, sequence)

    async def handle(self, event: Any) -> str:
        """Process one accepted-topic record; returns its outcome for the log line."""
        message = event.message
        partition = message.partition
        try:
            record = self.keys.verifier.open(
                event.value or b"", Place(message.topic, partition), ACCEPTED_KINDS
            )
        except CryptoError as exc:
            return f"refused:{refused(Position(message.topic, partition, message.offset), exc)}"
        self.restore(partition)
        self.watermark = None
        self.origin = metrics.origin_headers(metrics.origin_of(header_items(message.headers)))
        at = record.at
        if record.kind is Kind.SWITCH:
            await self.switch(partition, record.items, at, message.offset)
            return "switched"
        await self.policy_ready(partition)
        if record.kind is Kind.TICK:
            return f"ticked:{await self.rescan(partition, at, message.offset, flagged_only=True)}"
        size = len(record.items)
        outcomes = [
            await self.fold(item, partition, (at, message.offset), Mark(message.offset, i, size))
            for i, item in enumerate(record.items)
        ]
        return ";".join(outcomes)

    async def fold(
        self, item: bytes, partition: int, when: tuple[datetime, int], mark: Mark | None = None
    ) -> str:
        """Add one event to its subject and dispatch; ``when`` is its (time, offset).

        The subject comes from the authenticated event itself, never from the record's key.
        Every event is counted for the SNA first (``mark``: its place in the record).
        """
        event = self.correlator.read(item)
        if mark is not None:
            self.count_sna(Located(partition, when[1], when[0], event), mark)
        token = event.subject_token
        if token is None:
            return await self.area(event, partition, when)
        stored, held = self.load(token)
        state = SubjectState.from_bytes(stored)
        moment = self.moment(partition, *when)
        giving = event.event_type == GIVEN
        state, moment, early = await self.withdrawn(token, state, moment, giving=giving)
        if early is not None:
            self.store(token, state.to_bytes(), (partition, when[1]), held)
            await self.emit(early)
        folded = self.correlator.fold_event(event, state, moment)
        if folded is None:
            return "not_contributing" if early is None else "withdrawn_on_receipt"
        self.store(folded.token, folded.step.state.to_bytes(), (partition, when[1]), held)
        await self.emit(folded.step)
        ids = ",".join(f"{p.partnership_id}/{p.alert_id[:8]}" for p in folded.step.pending)
        return f"alerts:{len(folded.step.pending)}:{ids}"

    def count_sna(self, seen: Located, mark: Mark) -> None:
        """Add an event to its SNA count (``hub.sna.stream``), unless it was counted already."""
        assert self.sna_context is not None  # noqa: S101  # set by register_correlate
        counted = tally(seen, mark, self.sna_context, self._sna_body)
        if counted is not None:
            key, value = counted
            place = Row(SNA_TABLE, seen.partition, key)
            self.sna[key] = seal_value(self.keys.internal, place, mark.offset, value.to_bytes())

    def _sna_body(self, key: bytes) -> bytes | None:
        stored = self.sna.get(key)
        return None if stored is None else value_of(stored).value

    async def area(self, event: Event, partition: int, when: tuple[datetime, int]) -> str:
        """Fold an area-level event into its LSOA's counts; raise place-based alerts.

        The alerts go to the outbox before the state is stored: a redelivery after a crash
        between the two raises the same alert ids again, which the sequencer drops.
        """
        if self.watch is None or not self.watch.rules:
            return "area_level"
        row = AREA_KEY.format(lsoa=event.envelope.lsoa)
        stored, held = self.load(row)
        state = AreaState.from_bytes(stored)
        updated, hotspots = fold_area(state, event, self.watch.rules)
        if updated == state:
            return "area_level"
        moment = self.moment(partition, *when)
        pending = [p for h in hotspots if (p := self.watch.alert(h, event, moment)) is not None]
        await self.emit(Step(state=SubjectState(), pending=tuple(pending), decisions=()))
        self.store(row, updated.to_bytes(), (partition, when[1]), held)
        return f"area_alerts:{len(pending)}"

    async def rescan(self, partition: int, at: datetime, offset: int, *, flagged_only: bool) -> int:
        """Re-decide the partition's subjects (all of them, or those holding flags)."""
        changed = 0
        for key, stored in list(self.subjects.items()):
            token = key.decode()  # only rows the hub wrote are held: text
            if token.startswith("__") or self._partition_of(token) != partition:
                continue
            held = value_of(stored)
            before = SubjectState.from_bytes(held.value)
            if flagged_only and not before.sent:
                continue
            moment = self.moment(partition, at, offset)
            state, moment, _ = await self.withdrawn(token, before, moment, giving=False, step=False)
            step = self.correlator.rescan(token, state, moment)
            if step.pending or step.state != before:
                self.store(token, step.state.to_bytes(), (partition, offset), held.version)
                await self.emit(step)
                changed += 1
        return changed

    async def withdrawn(
        self, token: str, state: SubjectState, moment: Moment, *, giving: bool, step: bool = True
    ) -> tuple[SubjectState, Moment, Step | None]:
        """Fold the withdrawals received on the consent feeds before a decision on consent.

        Only when the subject has a live consent (or one is being given): the consent feeds
        are read to their end first (the watermark, recorded with the decisions). An end
        that changes the ledger is decided at once (``step``), as a consent event would be.
        Only ends read below the watermark are folded: the follower reads on while one
        barrier serves the whole record, and the record must say what the auditor can check.
        """
        if self.feeds is None or not (giving or state.consent.live_for(token, moment.at)):
            return state, moment, None
        if self.watermark is None:
            self.watermark = await self.feeds.watermark()
        moment = replace(moment, watermark=self.watermark)
        ledger = self.feeds.watch.fold(token, state.consent, moment.at, below=self.watermark)
        if ledger == state.consent:
            return state, moment, None
        updated = state.model_copy(update={"consent": ledger})
        if not step:
            return updated, moment, None
        trigger = Trigger(consent_before=state.consent)
        early = self.correlator.rescan(token, updated, moment, trigger=trigger)
        log.info("consent_ended_on_receipt", token_partition=self._partition_of(token))
        return early.state, moment, early

    async def switch(
        self, partition: int, items: tuple[bytes, ...], at: datetime, offset: int
    ) -> None:
        """Apply an agreement switch marker once its publications have been read."""
        if len(items) != 1:
            raise HubError(f"a switch marker carries one item, not {len(items)}")
        marker = Switch.from_bytes(items[0])
        while not self.clock.ready_for(marker):
            log.info("switch_waiting", partition=partition, sequence=marker.sequence)
            await asyncio.sleep(SWITCH_WAIT_S)
        self.clock.switch(partition, marker)
        row = POLICY_KEY.format(partition=partition)
        self.store(row, str(marker.sequence).encode(), (partition, offset))
        changed = await self.rescan(partition, at, offset, flagged_only=False)
        log.info(
            "agreements_switched", partition=partition, sequence=marker.sequence, subjects=changed
        )

    def _partition_of(self, token: str) -> int:
        return partition_for(token.encode(), self.settings.partitions)


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
    wiring: tuple[PolicyClock, WorkerKeys, ConsentFeeds | None],
) -> None:
    """Attach the correlation agent, its subject table and the clock-tick timer to ``app``.

    ``wiring`` is the worker's policy clock, keys and consent-feed follower.
    """
    clock, keys, feeds = wiring
    agent = CorrelateAgent(app, settings, correlator, clock, keys)
    agent.moments = Moments(clock, registry)
    agent.sna_context = CountContext(
        correlator.areas, registry, lambda p, o: agent.moment(p, _EPOCH, o).policy
    )
    agent.watch = AreaWatch(
        load_area_rules(settings.deploy_dir / "rules"),
        correlator.areas,
        registry,
        correlator.dispatcher.recipients,
    )
    agent.feeds = feeds
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
                record = quarantine(event.value or b"", source, error, key=message.key)
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
        """A MACed clock tick into every held accepted partition (a failed one waits a tick)."""
        now = datetime.now(UTC)
        try:
            for tp in app.consumer.assignment():
                if tp.topic == settings.accepted_topic:
                    place = Place(settings.accepted_topic, tp.partition)
                    value = seal_record(Kind.TICK, now, (), place, keys.internal)
                    await accepted.send(key=b"__tick__", value=value, partition=tp.partition)
        except Exception as exc:  # noqa: BLE001  # an error escaping a timer crashes the worker
            log.warning("tick_deferred", error=type(exc).__name__)

    app.agent(accepted, name="correlate")(correlate_agent)
    app.timer(interval=settings.tick_interval_s)(tick)
