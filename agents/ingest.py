"""The ingest agent: every agency feed in; accepted events, alerts and quarantine out."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import faust
import structlog

from agents.headers import header_items
from agents.tables import SealedRows, verified_table
from hub import metrics
from hub.config import Settings
from hub.crypto.trust import RecordVerifier
from hub.ingest import FeedMessage, Ingest, IngestContext
from hub.quarantine import SourceRef
from hub.refusal import Position, refused
from hub.seen import SeenEvents

log = structlog.get_logger("agents.ingest")


def received_at(timestamp: float | None) -> datetime:
    """When the hub received a feed message: its record timestamp, or now if it has none usable.

    The timestamp is the producer's (or the broker's, with LogAppendTime): one that no clock
    can hold must not stop the agent, and now is the stricter choice for the key window check.
    """
    try:
        return datetime.fromtimestamp(float(timestamp), UTC)  # type: ignore[arg-type]  # None is caught
    except (OverflowError, OSError, ValueError, TypeError):
        return datetime.now(UTC)


def register_ingest(
    app: faust.App, settings: Settings, ctx: IngestContext, verifier: RecordVerifier
) -> None:
    """Attach the ingest agent and its table of accepted event ids to ``app``."""
    ingest = Ingest(ctx)
    feeds = {settings.feed_topic(a.id): a.id for a in ctx.registry.agencies}
    source = app.topic(*feeds, key_type=bytes, value_type=bytes, value_serializer="raw")
    table = verified_table(app, "seen-events", verifier, settings.partitions)
    rows = SealedRows(table, ctx.internal_key)
    seen = SeenEvents(rows)  # one row per feed record; its index is rebuilt after recovery
    table.on_recovered.append(seen.invalidate)
    outputs: dict[str, faust.TopicT] = {}

    def output(name: str) -> faust.TopicT:
        if name not in outputs:
            outputs[name] = app.topic(
                name, key_type=bytes, value_type=bytes, value_serializer="raw"
            )
        return outputs[name]

    async def ingest_agent(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            try:
                await handle(event)
            except Exception as exc:  # noqa: BLE001  # no record may stop the agent: refuse it
                message = event.message
                refused(Position(message.topic, message.partition, message.offset), exc)

    async def handle(event: faust.EventT[bytes]) -> None:
        """Ingest one feed record (an event or a batch): each event accepted or quarantined."""
        started = time.perf_counter()
        message = event.message
        ref = SourceRef(topic=message.topic, partition=message.partition, offset=message.offset)
        feed_message = FeedMessage(
            value=event.value or b"",
            key=message.key,
            headers=header_items(message.headers),
            source=ref,
            feed_agency=feeds.get(message.topic, ""),
            received_at=received_at(message.timestamp),
        )
        rows.partition = message.partition
        outcome = ingest.process_record(feed_message, seen)
        for one in outcome.outcomes:
            metrics.count_ingest(feed_message.feed_agency, one.status, one.reason)
        for out in outcome.messages:
            await output(out.topic).send(
                key=out.key,
                value=out.value,
                partition=out.partition,
                headers=metrics.origin_headers(message.timestamp, out.headers),
            )
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
        accepted = outcome.accepted
        log.debug(
            "event_processed",
            topic=ref.topic,
            partition=ref.partition,
            offset=ref.offset,
            outcome="accepted" if accepted == len(outcome.outcomes) else "quarantined",
            events=len(outcome.outcomes),
            accepted=accepted,
            deliveries=len(outcome.messages),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    app.agent(source, name="ingest")(ingest_agent)
