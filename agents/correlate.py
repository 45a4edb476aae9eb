"""The correlation agent: accepted records in, through :class:`hub.correlation.Correlation`.

The service verifies each record and decides it (switch markers, clock ticks, events; see
``hub/correlation``); this adapter reads the record, calls the service, sends the outbox and
decisions records it returns with its table rows' changelog records, waits for them all in
one wait, and only then keeps the rows in memory, so a crash in between redelivers a record
whose outputs are re-derived under the same ids. The rows go to each table's changelog
packed, one record per table per accepted record
(:meth:`agents.tables.VerifiedTable.send_rows`), not one per row (a changelog record or
output the broker failed for a while is sent again), so the record is acknowledged only with
its outputs and state on the broker; one the broker refuses for good leaves memory as it was
and quarantines the record. A record the
service cannot decide is quarantined whole, never acknowledged unprocessed. A timer writes the
clock ticks into the accepted partitions this worker holds, one partition a turn
(:class:`hub.correlation.ticks.TickRota`): each is ticked every ``tick_interval_s``, and the
partitions' rounds of re-decisions come one at a time instead of all together.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

import faust
import structlog

from agents.consent import ConsentFeeds
from agents.headers import header_items, raw_topic
from agents.sending import Delivery, Queued, send_all
from agents.tables import VerifiedTable, changelog_sends, verified_table
from hub import metrics
from hub.config import Settings
from hub.correlate import Correlator
from hub.correlation import SUBJECTS, Correlation, Outcome, Result, Tables, Wiring
from hub.correlation.ticks import TickRota
from hub.crypto.record import Place
from hub.errors import HubError
from hub.policy import PolicyClock
from hub.quarantine import SourceRef, quarantine
from hub.registry import Registry
from hub.runtime import WorkerKeys
from hub.sna.stream import TABLE as SNA_TABLE

log = structlog.get_logger("agents.correlate")
#: The tables whose changelog carries packed rows: those whose every reader expands packs
#: (recovery in ``agents/tables.py``; ``hub sna export`` in ``hub/sna/changelog.py``).
PACKED_TABLES = frozenset({SUBJECTS, SNA_TABLE})


class CorrelateAgent:
    """The service, the worker's tables and the topics it writes."""

    def __init__(self, app: faust.App, settings: Settings, wiring: Wiring) -> None:
        verifier = wiring.keys.verifier
        self.tables: dict[str, VerifiedTable] = {
            name: verified_table(
                app, name, verifier, settings.partitions, packed=name in PACKED_TABLES
            )
            for name in (SUBJECTS, SNA_TABLE)
        }
        self.service = Correlation(wiring, Tables(self.tables[SUBJECTS], self.tables[SNA_TABLE]))
        # Rows recovered from the changelog (a start, a rebalance) never passed through the
        # service: its index of flagged subjects is rebuilt from them before the worker
        # resumes, not by the next tick's full scan in the middle of the load.
        self.tables[SUBJECTS].on_recovered.append(self.service.rebuild_flagged)
        self.topics = {
            topic: raw_topic(app, topic)
            for topic in (settings.outbox_topic, settings.decisions_topic)
        }
        self.quarantine = raw_topic(app, settings.quarantine_topic)

    async def handle(self, event: Any) -> Outcome:
        """Decide one accepted record, send what it produced and its rows' changelog records
        together, and keep the rows in memory once the broker has every one."""
        message = event.message
        place = Place(message.topic, message.partition)
        result = await self.service.handle(event.value or b"", place, message.offset)
        origin = metrics.origin_headers(metrics.origin_of(header_items(message.headers)))
        rows: dict[str, list[tuple[bytes, bytes]]] = {}
        for row in result.rows:
            rows.setdefault(row.table, []).append((row.key, row.value))
        with changelog_sends() as sent:  # one changelog record per table (per pack)
            for table, written in rows.items():
                self.tables[table].send_rows(message.partition, written, message.offset)
        await self.write(result, origin, sent)
        for table, written in rows.items():
            self.tables[table].store_rows(written)
        return result.outcome

    async def write(
        self, result: Result, origin: list[tuple[str, bytes]], queued: Iterable[Queued] = ()
    ) -> None:
        """Send the outbox and decisions records and wait, in one wait, for their deliveries
        and those of ``queued`` (the record's changelog records).

        One producer round trip a record, not two: at a low rate a record carries a few events
        and the correlation agent takes one record at a time, so a second wait per record (the
        rows' after the outputs') held every record behind two round trips and the backlog
        grew (p99 9.2 s at 1,000 events/s). Raises, the rows not kept in memory, if the broker
        refuses one for good: the agent then quarantines the record. The changelog may then
        hold rows of a record whose outputs were refused, as it could before the rows were
        waited for; a restart recovers them, and a redrive of the record re-derives the same
        ids.
        """

        async def send(sent: tuple[Any, list[tuple[str, bytes]] | None]) -> Delivery:
            record, headers = sent
            return await self.topics[record.topic].send(
                key=record.key, value=record.value, partition=record.partition, headers=headers
            )

        # A send the broker fails is retried, never quarantined (agents/sending.py): the
        # record is not at fault, and its rows are kept only after every send is delivered.
        outputs = [(r, origin) for r in result.outbox] + [(r, None) for r in result.decisions]
        await send_all(outputs, send, agent="correlate", queued=queued)
        metrics.count_decisions(result.decided)

    async def quarantined(self, event: Any, exc: Exception) -> Outcome:
        """Quarantine a record the service could not decide; its outcome for the log line."""
        message = event.message
        error = exc if isinstance(exc, HubError) else HubError(f"unexpected {type(exc).__name__}")
        source = SourceRef(topic=message.topic, partition=message.partition, offset=message.offset)
        record = quarantine(event.value or b"", source, error, key=message.key)
        value = record.to_bytes()

        async def send(_: None) -> Delivery:
            return await self.quarantine.send(value=value)

        await send_all((None,), send, agent="correlate")
        metrics.count_quarantine("correlate", record.reason)
        return Outcome("quarantined", reason=record.reason)


def register_correlate(
    app: faust.App,
    settings: Settings,
    correlator: Correlator,
    registry: Registry,
    wiring: tuple[PolicyClock, WorkerKeys, ConsentFeeds | None],
) -> None:
    """Attach the correlation agent, its tables and the clock-tick timer to ``app``.

    ``wiring`` is the worker's policy clock, keys and consent-feed follower.
    """
    clock, keys, feeds = wiring
    agent = CorrelateAgent(
        app, settings, Wiring(settings, correlator, registry, clock, keys, feeds)
    )
    accepted = raw_topic(app, settings.accepted_topic)
    rota = TickRota(settings.partitions)

    async def correlate_agent(stream: faust.StreamT[bytes]) -> None:
        # Acknowledged by hand, after the record's outputs and rows are delivered: faust's
        # acking iterator acks the record its body was on when the body raises or is cancelled.
        unacked = cast("faust.Stream[bytes]", stream).noack()
        async for event in unacked.events():  # one record at a time: a record is a batch
            started = time.perf_counter()
            try:
                outcome = await agent.handle(event)
            except Exception as exc:  # noqa: BLE001  # an escaping error would ack the record: quarantine it instead
                outcome = await agent.quarantined(event, exc)
            line = log.info if outcome.notable or outcome.kind == "quarantined" else log.debug
            line(
                "accepted_processed",
                partition=event.message.partition,
                offset=event.message.offset,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                **outcome.fields(),
            )
            await unacked.ack(event)

    async def tick() -> None:
        """A MACed clock tick into each held accepted partition whose turn it is (a failed one
        waits for its next turn)."""
        try:
            held = {
                tp.partition
                for tp in app.consumer.assignment()
                if tp.topic == settings.accepted_topic
            }
            for partition in rota.next(held):
                value = agent.service.tick(partition, datetime.now(UTC))
                await accepted.send(key=b"__tick__", value=value, partition=partition)
        except Exception as exc:  # noqa: BLE001  # an error escaping a timer crashes the worker
            log.warning("tick_deferred", error=type(exc).__name__)

    app.agent(accepted, name="correlate")(correlate_agent)
    app.timer(interval=rota.period_s(settings.tick_interval_s))(tick)
