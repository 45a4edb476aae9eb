"""Numbering each partnership's alerts: the sequencer's decisions, over the transport seam.

The outbox is keyed by partnership, so the worker holding an outbox partition is the only
writer of the partnerships keyed to it. :class:`SequencingService` takes the outbox records
that worker reads, numbers every alert they carry (``hub.sequencer``: gap-free, de-duplicated
by alert id) and writes it, signed, to the partnership's topic, one record per request so
that the topic's end stays exact: one partnership's alerts one after another, different
partnerships' at once (an alert waited for every alert of its record before it, one round
trip each, about a quarter of the slowest alerts' latency at 1,000 events/s). It rebuilds
what it knows of a partnership from that topic whenever the assignment changes (the
partnerships a sweep, a heartbeat round or an outbox record needs, their topics read
concurrently rather than one after another), sweeps the newly held outbox partitions for
records the consumer skipped around a rebalance, and sends heartbeats. The faust agent
(``agents/sequence.py``) only hands it records and logs what it returns.

Trust: an outbox record is numbered only once its hub MAC verifies for the partition it was
read from; a partnership's topic is rebuilt from records that verify as the hub's signed
alerts for that partnership (``hub.sequencer.verified_meta``). Anything else is refused and
counted (``hub.refusal``) and changes neither numbering nor heartbeats.

::

    service = SequencingService(transport, SequencingTopics(outbox, alert_topic, 8), keys)
    service.reassigned(frozenset({0, 3}))   # the outbox partitions this worker holds
    await service.sweep()                   # number what the consumer may have skipped
    taken = await service.take(record)      # one outbox record: its alerts, numbered
    await service.beat("reading")           # a heartbeat with the last number sent
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from hub import metrics
from hub.alerts import AlertRecord, Unnumbered, heartbeat, number_alert
from hub.crypto import SigningKey
from hub.crypto.record import Kind, Place
from hub.crypto.trust import RecordVerifier
from hub.errors import CryptoError, HubError, TransportError
from hub.refusal import refused
from hub.sequencer import PartnershipLog, Pending, verified_meta
from hub.transport.partitioner import partition_for
from hub.transport.protocol import Transport
from hub.transport.record import Record
from hub.transport.visit import position_of

log = structlog.get_logger("hub.sequencing")


@dataclass(frozen=True, slots=True)
class SequencingTopics:
    """Where the sequencer reads and writes: the outbox (and its partition count), and the
    topic of each partnership's alerts."""

    outbox: str
    alerts: Callable[[str], str]
    outbox_partitions: int

    def owner_of(self, partnership_id: str) -> int:
        """The outbox partition a partnership's records are keyed to."""
        return partition_for(partnership_id.encode(), self.outbox_partitions)


@dataclass(frozen=True, slots=True)
class SequencingKeys:
    """The hub's signing key for alerts, and the keys outbox and alert records verify with."""

    hub: SigningKey
    verifier: RecordVerifier


@dataclass(frozen=True, slots=True)
class Retry:
    """Backoff between attempts to send an alert: doubling from ``first_s`` up to ``max_s``."""

    first_s: float = 0.5
    max_s: float = 30.0


@dataclass(frozen=True, slots=True)
class Sequenced:
    """One alert of an outbox record: the number it went out with, or None when it was on
    its topic already (an earlier delivery, or a sweep got there first)."""

    partnership_id: str
    alert_id: str
    seq: int | None


@dataclass(frozen=True, slots=True)
class Taken:
    """What became of one outbox record: its alerts, or the reason it was refused."""

    sequenced: tuple[Sequenced, ...] = ()
    refused: CryptoError | None = None


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


@dataclass
class SequencingService:
    """The worker's numbering of the partnerships whose outbox partitions it holds."""

    transport: Transport
    topics: SequencingTopics
    keys: SequencingKeys
    clock: Callable[[], datetime] = utc_now
    retry: Retry = field(default_factory=Retry)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    logs: dict[str, PartnershipLog] = field(default_factory=dict, init=False)
    """Partnership -> what its topic holds, as read back since the last reassignment."""
    assignment: frozenset[int] = field(default=frozenset(), init=False)
    forgotten: int = field(default=0, init=False)
    """How many times logs were forgotten: a log whose read began before the last time is
    not kept (it may miss what made the service forget)."""
    unswept: frozenset[int] = field(default=frozenset(), init=False)
    origins: metrics.OriginBook = field(default_factory=metrics.OriginBook, init=False)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict, init=False, repr=False)
    """Partnership -> the lock its numbering, heartbeats and rebuild take (one writer each)."""

    def _lock_of(self, partnership_id: str) -> asyncio.Lock:
        found = self._locks.get(partnership_id)
        if found is None:
            found = self._locks[partnership_id] = asyncio.Lock()
        return found

    def pending_of(self, record: Record) -> list[Pending]:
        """The alerts an outbox record carries once its MAC verifies where it was read.

        A CryptoError when it is not the hub's; a DecodeError when an item does not parse.
        """
        place = Place(record.topic, record.partition)
        opened = self.keys.verifier.open(record.value or b"", place, (Kind.ALERTS,))
        return [Pending.from_bytes(item) for item in opened.items]

    async def take(self, record: Record) -> Taken:
        """Number and send every alert of one outbox record, retrying until each is sent.

        A record that is not the hub's is refused (counted, alarmed) and changes nothing. A
        non-retriable hub error (an item that does not parse, an alert the hub cannot number)
        is raised: the caller quarantines the record, as retrying would stall the stream.
        """
        try:
            pendings = self.pending_of(record)
        except CryptoError as exc:
            refused(position_of(record), exc)
            return Taken(refused=exc)
        await self.rebuilt(p.partnership_id for p in pendings)
        streams: dict[str, list[tuple[int, Pending]]] = {}
        for index, pending in enumerate(pendings):
            self.origins.note(pending.alert_id, record.headers)
            streams.setdefault(pending.partnership_id, []).append((index, pending))
        # Each partnership's alerts in order, one at a time (its topic's end stays exact);
        # different partnerships' topics at once. Every stream is let finish before an error
        # is raised, so nothing of this record is still being sent when the next is taken.
        outcomes = await asyncio.gather(
            *(self._number_in_order(stream) for stream in streams.values()),
            return_exceptions=True,
        )
        done: list[tuple[int, Sequenced]] = []
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            done.extend(outcome)
        return Taken(tuple(sequenced for _, sequenced in sorted(done, key=lambda d: d[0])))

    async def _number_in_order(
        self, stream: list[tuple[int, Pending]]
    ) -> list[tuple[int, Sequenced]]:
        """One partnership's alerts of a record, numbered and sent one after another."""
        done = []
        for index, pending in stream:
            seq = await self.number_until_sent(pending)
            metrics.count_stream_record(pending.partnership_id, seq)
            done.append((index, Sequenced(pending.partnership_id, pending.alert_id, seq)))
        return done

    async def number(self, pending: Pending) -> int | None:
        """Send one pending alert with the next number; None if it was sent before."""
        async with self._lock_of(pending.partnership_id):
            partnership_log = await self.log_of(pending.partnership_id)
            origin = self.origins.take(pending.alert_id)
            seq = partnership_log.assign(pending.alert_id)
            if seq is None:
                return None
            unnumbered = Unnumbered(pending.alert_id.encode(), pending.value, pending.headers)
            await self._send(pending.partnership_id, number_alert(unnumbered, seq, self.keys.hub))
            partnership_log.sent(pending.alert_id, seq)
            metrics.alert_published(
                pending.partnership_id, seq, pending.headers, self.clock(), origin
            )
            return seq

    async def number_until_sent(self, pending: Pending) -> int | None:
        """Never drop an alert: retry (loudly, with backoff) until it is numbered and sent.

        A non-retriable hub error is raised instead: retrying it would stall the stream.
        """
        delay = self.retry.first_s
        while True:
            try:
                return await self.number(pending)
            except Exception as exc:  # an escaping error would ack the record and lose the alert
                if isinstance(exc, HubError) and not exc.retriable:
                    raise
                log.warning(
                    "alert_send_failed",
                    partnership=pending.partnership_id,
                    error=type(exc).__name__,
                    retry_in_s=delay,
                )
                self._forget(pending.partnership_id)  # re-read: the send may have landed
                await self.sleep(delay)
                delay = min(delay * 2, self.retry.max_s)

    async def log_of(self, partnership_id: str) -> PartnershipLog:
        """What the partnership's topic holds, read back once per assignment."""
        while True:
            found = self.logs.get(partnership_id)
            if found is not None:
                return found
            forgotten = self.forgotten
            found = await self._rebuild(partnership_id)
            if forgotten == self.forgotten:
                self._keep(partnership_id, found)
                return found
            # the assignment changed (or a send may have landed) while it was read: again

    async def rebuilt(self, partnership_ids: Iterable[str]) -> None:
        """Rebuild the logs of ``partnership_ids`` not read since the last reassignment, their
        topics read concurrently (one after another, nine took about 2.75 s on the embedded
        broker, docs/benchmarks-history.md). A rebuild that fails is left to :meth:`log_of`, which
        the caller reaches next and which raises as it always has."""
        missing = sorted({p for p in partnership_ids if p not in self.logs})
        if len(missing) < 2:  # noqa: PLR2004  # one is read by log_of as before
            return
        async with contextlib.AsyncExitStack() as held:
            for partnership_id in missing:  # in order: the only holder of several locks
                await held.enter_async_context(self._lock_of(partnership_id))
            missing = [p for p in missing if p not in self.logs]  # read meanwhile
            forgotten = self.forgotten
            found = await asyncio.gather(
                *(self._rebuild(p) for p in missing), return_exceptions=True
            )
            for partnership_id, log_or_error in zip(missing, found, strict=True):
                if isinstance(log_or_error, PartnershipLog):
                    if forgotten == self.forgotten:  # else read before a reassignment: dropped
                        self._keep(partnership_id, log_or_error)
                elif not isinstance(log_or_error, Exception):
                    raise log_or_error  # cancellation, never swallowed

    def _forget(self, partnership_id: str | None = None) -> None:
        """Forget one partnership's log, or every log; reads in flight are not kept."""
        if partnership_id is None:
            self.logs.clear()
        else:
            self.logs.pop(partnership_id, None)
        self.forgotten += 1

    def _keep(self, partnership_id: str, found: PartnershipLog) -> None:
        self.logs[partnership_id] = found
        metrics.stream_read(partnership_id, found.last_seq)
        log.info("partnership_log_rebuilt", partnership=partnership_id, last_seq=found.last_seq)

    async def _rebuild(self, partnership_id: str) -> PartnershipLog:
        found = PartnershipLog()
        hub_key = self.keys.verifier.hub_key

        def observe(record: Record) -> None:
            alert = AlertRecord(record.key or b"", record.value or b"", record.headers)
            try:
                meta = verified_meta(alert, partnership_id, hub_key)
            except HubError as exc:
                refused(position_of(record), exc)
                return
            found.observe(meta)

        await self.transport.read(self.topics.alerts(partnership_id), 0, observe)
        return found

    def reassigned(self, assignment: frozenset[int]) -> None:
        """Forget every log when the outbox assignment changes: another worker may have
        written. The outbox partitions then held are swept (:meth:`sweep`)."""
        if assignment != self.assignment:
            self._forget()
            self.unswept = assignment
            self.assignment = assignment

    async def sweep(self) -> tuple[Sequenced, ...]:
        """Number every alert of the held outbox partitions that is not on its topic yet."""
        found: list[Pending] = []

        def keep(record: Record) -> None:
            try:
                pendings = self.pending_of(record)
            except HubError:
                return  # the stream refuses or quarantines it when it reads it
            for pending in pendings:
                self.origins.note(pending.alert_id, record.headers)
            found.extend(pendings)

        for partition in sorted(self.unswept):
            await self.transport.read(self.topics.outbox, partition, keep)
        await self.rebuilt(p.partnership_id for p in found)
        sent: list[Sequenced] = []
        for pending in found:
            seq = await self.number(pending)
            if seq is not None:
                sent.append(Sequenced(pending.partnership_id, pending.alert_id, seq))
        # Only now: a sweep cut short (an error, or a rebalance) must run again, or what it
        # had found but not numbered would wait for the next restart.
        self.unswept = frozenset()
        if sent:
            log.warning("outbox_sweep_numbered", alerts=len(sent))
        return tuple(sent)

    async def sweep_quietly(self) -> None:
        """Sweep if due; a failed sweep is retried at the next record or heartbeat."""
        if not self.unswept:
            return
        try:
            await self.sweep()
        except Exception as exc:  # noqa: BLE001  # an escaping error would ack the current record
            log.warning("outbox_sweep_failed", error=type(exc).__name__)

    async def beat(self, partnership_id: str) -> int | None:
        """Send a heartbeat carrying the last number sent to ``partnership_id``; return that
        number, or None when the broker cannot be reached (deferred to the next tick)."""
        async with self._lock_of(partnership_id):
            try:
                partnership_log = await self.log_of(partnership_id)
                now = self.clock()
                last = partnership_log.last_seq
                await self._send(
                    partnership_id, heartbeat(partnership_id, last, now, self.keys.hub)
                )
            except TransportError as exc:
                log.warning("heartbeat_deferred", error=type(exc).__name__, detail=str(exc))
                return None
            metrics.heartbeat_sent(partnership_id, last, now)
            return last

    async def tick(self, assignment: frozenset[int], partnerships: Iterable[str]) -> None:
        """The heartbeat timer: sweep if due, then a heartbeat to each partnership held."""
        self.reassigned(assignment)
        await self.sweep_quietly()
        held = [p for p in partnerships if self.topics.owner_of(p) in assignment]
        await self.rebuilt(held)
        for partnership_id in held:
            await self.beat(partnership_id)

    async def _send(self, partnership_id: str, record: AlertRecord) -> None:
        """Write one record and wait for it: the only writer, one record per request."""
        await self.transport.send(
            self.topics.alerts(partnership_id), record.value, key=record.key, headers=record.headers
        )
