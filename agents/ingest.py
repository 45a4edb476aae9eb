"""The ingest agent: every agency feed in; accepted events and quarantine out.

The agent reads its feeds a group of records at a time (:class:`agents.groups.RecordGroups`:
what the stream had buffered, without waiting for more), routes each record
(:meth:`hub.ingest.Ingest.route_record`, which commits the record's row of accepted event
ids), stores the group's rows (one changelog record per feed partition for the whole group,
not one per feed record), sends one accepted record per destination partition for the whole
group and the group's quarantine records, waits until the broker has them all and the
changelog records of the group's rows too (:func:`agents.sending.send_all`), and only then
acknowledges the group. If anything in a group raises, each of its records is processed alone
and one that fails again is quarantined whole: no record stops the agent, and none is
acknowledged unprocessed. The one exception: should the broker refuse for good the changelog
record that forgets a quarantined record's events, the error escapes the agent (logged as
``changelog_refused``) and the group is never acknowledged, since memory would no longer
match the changelog.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import faust
import structlog

from agents.groups import RecordGroups, processing
from agents.headers import header_items
from agents.sending import Delivery, delivered, send_all
from agents.tables import SealedRows, changelog_sends, verified_table
from hub import metrics
from hub.config import Settings
from hub.crypto.trust import RecordVerifier
from hub.errors import HubError
from hub.ingest import FeedMessage, Ingest, IngestContext, Outbound, RoutedRecord
from hub.quarantine import SourceRef, quarantine
from hub.refusal import Position, refused
from hub.seen import SeenEvents

log = structlog.get_logger("agents.ingest")

Send = Callable[[Outbound], Awaitable[Delivery]]
"""Publishes one message (its topic, key, value, partition and headers as given); returns its
delivery, which :func:`agents.sending.send_all` awaits before the group is acknowledged."""


class Partitioned(Protocol):
    """The rows of the seen-events table: told the partition of the record being processed,
    and stored many at a time (:meth:`agents.tables.SealedRows.put_many`)."""

    partition: int

    def put_many(self, partition: int, rows: Iterable[tuple[str, str]], origin: int) -> None:
        """Store ``rows`` of ``partition`` together, for the record at offset ``origin``."""


def received_at(timestamp: float | None) -> datetime:
    """When the hub received a feed message: its record timestamp, or now if it has none usable.

    The timestamp is the producer's (or the broker's, with LogAppendTime): one that no clock
    can hold must not stop the agent, and now is the stricter choice for the key window check.
    """
    try:
        return datetime.fromtimestamp(float(timestamp), UTC)  # type: ignore[arg-type]  # None is caught
    except (OverflowError, OSError, ValueError, TypeError):
        return datetime.now(UTC)


class IngestAgent:
    """Ingest groups of feed records: route each, send the group's records, then return."""

    def __init__(
        self,
        ingest: Ingest,
        seen: SeenEvents,
        rows: Partitioned,
        *,
        feeds: dict[str, str],
        send: Send,
        quarantine_topic: str,
    ) -> None:
        self.ingest = ingest
        self.seen = seen
        self.rows = rows
        self.feeds = feeds
        self.send = send
        self.quarantine_topic = quarantine_topic

    async def handle_group(self, group: Sequence[faust.EventT[bytes]]) -> None:
        """Ingest a group of feed records with one accepted record per destination partition;
        if that raises, each record alone, quarantining one that raises again. A send the
        broker fails is retried until it goes through (:mod:`agents.sending`), so only an error
        of the record's own (or a message the broker can never take) quarantines it. Never
        raises but for cancellation, or when memory can no longer match the changelog
        (:meth:`refuse`)."""
        try:
            await self.handle(group)
        except Exception as exc:  # noqa: BLE001  # no record may stop the agent: find the one that fails
            if len(group) == 1:
                await self.refuse(group[0], exc)
                return
            for event in group:
                try:
                    await self.handle((event,))
                except Exception as again:  # noqa: BLE001  # quarantined, then the next record
                    await self.refuse(event, again)

    async def refuse(self, event: faust.EventT[bytes], exc: Exception) -> None:
        """Quarantine a feed record ingest could not process (only logged and counted if
        even that fails): it is acknowledged with its group, never retried for ever. The
        events it had stored as accepted are forgotten first (:meth:`SeenEvents.forget`), so
        that its redrive is accepted, not refused as duplicates, and the broker has the
        emptied row before the quarantine record is sent. Should the broker refuse that row
        for good, the error is raised: the changelog may still hold the events memory has
        forgotten, so the record must not be acknowledged."""
        message = event.message
        position = Position(message.topic, message.partition, message.offset)
        error = exc if isinstance(exc, HubError) else HubError(f"unexpected {type(exc).__name__}")
        source = SourceRef(topic=message.topic, partition=message.partition, offset=message.offset)
        try:
            # faust files the emptied row under this record's partition
            with processing(event), changelog_sends() as emptied:
                self.rows.partition = message.partition
                self.seen.forget(source.position)
        except Exception as again:  # noqa: BLE001  # the last resort: logged and counted
            refused(position, again)
            return
        try:
            await delivered(emptied, agent="ingest")
        except Exception as lost:
            log.error("changelog_refused", agent="ingest", error=type(lost).__name__)  # noqa: TRY400  # raised on, with its traceback
            raise
        try:
            record = quarantine(event.value or b"", source, error, key=message.key)
            outbound = Outbound(self.quarantine_topic, None, record.to_bytes())
            await send_all((outbound,), self.send, agent="ingest")
        except Exception as again:  # noqa: BLE001  # the last resort: logged and counted
            refused(position, again)
            return
        refused(position, exc)

    async def handle(self, group: Sequence[faust.EventT[bytes]]) -> None:
        """Ingest feed records (events or batches): each event accepted or quarantined."""
        started = time.perf_counter()
        routed: list[tuple[FeedMessage, RoutedRecord]] = []
        self.seen.hold()  # the group's rows are stored together, below
        try:
            for event in group:
                feed_message = self.feed_message(event)
                with processing(event):  # faust reads the seen row in this record's partition
                    self.rows.partition = event.message.partition
                    routed.append((feed_message, self.ingest.route_record(feed_message, self.seen)))
        except BaseException:
            self.seen.drop_unstored()  # never stored: processed again, alone (handle_group)
            raise
        with changelog_sends() as stored:
            self.store(group, [m for m, _ in routed], self.seen.unstored())
        stamps = [e.message.timestamp for e in group if e.message.timestamp is not None]
        oldest = min(stamps, default=None)
        outbound = [
            Outbound(
                out.topic,
                out.key,
                out.value,
                tuple(metrics.origin_headers(oldest, out.headers)),
                out.partition,
            )
            for out in self.ingest.seal_group(routed)
        ]
        # a broker failure waits, never quarantines; the rows' changelog records are waited
        # for with the outputs
        await send_all(outbound, self.send, agent="ingest", queued=stored)
        duration_ms = round((time.perf_counter() - started) * 1000, 3)
        for feed_message, outcome in routed:
            _note(feed_message, outcome, len(group), duration_ms)
        counts: Counter[tuple[str, str, str]] = Counter(
            (message.feed_agency, one.status, one.reason)
            for message, outcome in routed
            for one in outcome.outcomes
        )
        metrics.count_ingest_many(counts)  # one update a series for the whole group

    def store(
        self,
        group: Sequence[faust.EventT[bytes]],
        messages: Sequence[FeedMessage],
        rows: dict[str, str],
    ) -> None:
        """Store the group's seen rows (keyed by each record's position, as ingest commits
        them): one call per feed partition, made while the group's last record of that
        partition is processed (faust files a row under the current record's partition), so
        one changelog record per partition and group."""
        last: dict[int, faust.EventT[bytes]] = {}
        found: dict[int, list[tuple[str, str]]] = {}
        for event, feed_message in zip(group, messages, strict=True):
            message = event.message
            row = feed_message.source.position
            if row in rows:
                last[message.partition] = event
                found.setdefault(message.partition, []).append((row, rows[row]))
        for partition, written in found.items():
            event = last[partition]
            with processing(event):
                self.rows.put_many(partition, written, event.message.offset)

    def feed_message(self, event: faust.EventT[bytes]) -> FeedMessage:
        """A feed record as ingest reads it."""
        message = event.message
        return FeedMessage(
            value=event.value or b"",
            key=message.key,
            headers=header_items(message.headers),
            source=SourceRef(
                topic=message.topic, partition=message.partition, offset=message.offset
            ),
            feed_agency=self.feeds.get(message.topic, ""),
            received_at=received_at(message.timestamp),
        )


def _note(feed_message: FeedMessage, outcome: RoutedRecord, group: int, duration_ms: float) -> None:
    """Log a record's outcomes once its outputs are sent (the group counts them)."""
    ref = feed_message.source
    # Each quarantined event at INFO (with its index in a batch record); one line per feed
    # record at DEBUG: at thousands of events a second, counts are on /metrics and
    # decisions in the audit ledger.
    for one in outcome.outcomes:
        if one.status == "quarantined":
            log.info(
                "event_processed",
                topic=ref.topic,
                partition=ref.partition,
                offset=ref.offset,
                index=one.index,
                outcome=one.status,
                reason=one.reason,
                error=one.error,
            )
    accepted = outcome.count
    log.debug(
        "event_processed",
        topic=ref.topic,
        partition=ref.partition,
        offset=ref.offset,
        outcome="accepted" if accepted == len(outcome.outcomes) else "quarantined",
        events=len(outcome.outcomes),
        accepted=accepted,
        group=group,
        group_duration_ms=duration_ms,
    )


def register_ingest(
    app: faust.App, settings: Settings, ctx: IngestContext, verifier: RecordVerifier
) -> None:
    """Attach the ingest agent and its table of accepted event ids to ``app``."""
    feeds = {settings.feed_topic(a.id): a.id for a in ctx.registry.agencies}
    source = app.topic(*feeds, key_type=bytes, value_type=bytes, value_serializer="raw")
    table = verified_table(app, "seen-events", verifier, settings.partitions, packed=True)
    rows = SealedRows(table, ctx.internal_key)
    seen = SeenEvents(rows)  # one row per feed record; its index is rebuilt after recovery
    table.on_recovered.append(seen.invalidate)
    outputs: dict[str, faust.TopicT] = {}

    async def send(out: Outbound) -> Delivery:
        if out.topic not in outputs:
            outputs[out.topic] = app.topic(
                out.topic, key_type=bytes, value_type=bytes, value_serializer="raw"
            )
        return await outputs[out.topic].send(  # queued: its delivery is awaited by send_all
            key=out.key, value=out.value, partition=out.partition, headers=list(out.headers)
        )

    agent = IngestAgent(
        Ingest(ctx), seen, rows, feeds=feeds, send=send, quarantine_topic=settings.quarantine_topic
    )

    async def ingest_agent(stream: faust.StreamT[bytes]) -> None:
        groups = RecordGroups(stream)
        async for group in groups:
            await agent.handle_group(group)
            await groups.ack(group)  # only now: every record's outputs delivered, its row stored

    app.agent(source, name="ingest")(ingest_agent)
