"""The correlation service: one accepted record in, what to send and store out.

Each accepted record is verified for the partition it was read from (events and ticks MACed
by the hub, switch markers signed by information governance); anything else is refused and
counted (``hub.refusal``) and changes nothing. The decision time is the record's authenticated
time, never the broker's timestamp. Then, in stream order:

- the partition's agreement sequence is restored from its table row (after a restart or a
  move) and, unless the record is a switch, the worker waits until it has read every
  publication that sequence names (deciding before would deny everything, silently);
- a **switch marker** waits for the publications it names, switches the partition and
  re-decides every subject of the partition;
- a **clock tick** re-decides the subjects holding flags, so flags expire as time passes
  (:class:`FlaggedSubjects` spares it decoding every other subject of the table); a tick or a
  switch lets the event loop run every :data:`RESCAN_SLICE_S` of its work, so the worker's
  other agents (ingest, the sequencer, the ledger) are not held for the whole rescan;
- an **events** record folds each event, in order, into its subject (or, for an area-level
  event, its area's counts) and counts it for the SNA.

A record may carry many events: its rows are read and written once each (``rows``), its
alerts leave as one record per outbox partition and its decisions as one record
(``emission``). The :class:`~hub.correlation.values.Result` lists the records to send and the
rows to store; **the adapter sends first and stores after**: a crash between the two redelivers
the record, whose events are then redelivered events that re-emit the subjects' current alerts
under the same ids (the sequencer drops those already numbered), and whose area events are
folded again from the unchanged area rows, raising the same alert ids.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import structlog

from hub.consent import GIVEN
from hub.correlation.batch import (
    ACCEPTED_KINDS,
    AREA_KEY,
    POLICY_KEY,
    Batch,
    Tables,
    Wiring,
)
from hub.correlation.emission import Sealer
from hub.correlation.values import Outcome, Received, Result, RowWrite
from hub.crypto.record import Kind, Place
from hub.crypto.tablevalue import Sealing, value_of
from hub.crypto.trust import seal_record
from hub.disclosure import keep_decoded
from hub.dispatch import Moment, Step, SubjectState
from hub.dsa import Evaluator
from hub.errors import CryptoError, HubError
from hub.hotspot import AreaWatch, fold_area
from hub.models import Event
from hub.policy import Moments, Switch
from hub.refusal import Position, refused
from hub.rules.area import load_area_rules
from hub.sna import CountContext
from hub.sna.stream import TABLE as SNA_TABLE
from hub.sna.stream import Remembered
from hub.transport.partitioner import partition_for

log = structlog.get_logger("hub.correlation")
SWITCH_WAIT_S = 0.2
RESCAN_SLICE_S = 0.005
"""A rescan (tick or switch) lets the event loop run after this much of its work: re-deciding
a flagged subject takes about a millisecond, and a tick round at 3,000 subjects held every
other agent for 15 to 30 ms per partition (docs/benchmarks-history.md)."""


class _Slices:
    """A long loop's turns: :meth:`turn` lets the event loop run once per slice of work."""

    def __init__(self) -> None:
        self._ends = time.perf_counter() + RESCAN_SLICE_S

    async def turn(self) -> None:
        """Yield to the event loop if this slice's time is spent."""
        if time.perf_counter() >= self._ends:
            await asyncio.sleep(0)
            self._ends = time.perf_counter() + RESCAN_SLICE_S


_NO_STATE = SubjectState()
"""An area's step carries no subject state: one value (immutable) serves them all."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Any time: the SNA counter asks a moment only for its agreements (decided at the record's)."""


class FlaggedSubjects:
    """Per accepted partition, every subject that may hold flags: those a clock tick re-decides.

    A tick re-decides only the subjects holding flags, but finding them meant decoding every
    subject of the table, for each partition: 55 to 245 ms per tick at 1,000 subjects, every
    ``tick_interval_s``, stalling the worker's event loop (docs/benchmarks-history.md). A
    partition's
    set is built by the first full scan of it (a tick or a switch) and then kept up by every
    subject state this service writes with flags; a tick drops a subject it finds without
    flags. So the set is a superset of the flagged subjects, as long as no subject row
    changes behind the service's back: when the table's recovery completes (a start, a
    rebalance) every set is rebuilt from the recovered rows (:meth:`rebuild`), before the
    worker processes a record, rather than by the next tick's full scan in the middle of the
    load. Only which subjects are read changes: the tick still visits them in the table's
    order.
    """

    def __init__(self) -> None:
        self._tokens: dict[int, set[str]] = {}
        self.generation = 0
        """Raised whenever the sets are replaced or forgotten: a scan that began under an
        older generation (it yields to the loop) does not store what it found."""

    def of(self, partition: int) -> set[str] | None:
        """The partition's subjects that may hold flags; None until a full scan built it."""
        return self._tokens.get(partition)

    def built(self, partition: int, tokens: set[str], generation: int) -> None:
        """A full scan of ``partition``, begun at ``generation``, found ``tokens`` holding
        flags (dropped if the table was recovered meanwhile: the rows it read are stale)."""
        if generation == self.generation:
            self._tokens[partition] = tokens

    def note(self, partition: int, token: str, state: SubjectState) -> None:
        """A subject state written: kept if it holds flags (dropped only by a tick)."""
        known = self._tokens.get(partition)
        if known is not None and state.sent:
            known.add(token)

    def invalidate(self) -> None:
        """Subject rows changed behind the service: the next tick scans in full again."""
        self._tokens.clear()
        self.generation += 1

    async def rebuild(
        self,
        rows: Iterable[tuple[bytes, bytes]],
        partitions: int,
        partition_of: Callable[[str], int],
    ) -> int:
        """Every partition's set from the table's rows (key, sealed value), after recovery:
        the subjects whose stored state holds flags, as a tick's full scan finds them; returns
        the number of subject rows read (none for an empty table: nothing to decode).

        A state is read as the service reads it (:meth:`SubjectState.from_bytes`, which takes
        a state this process wrote from the decoded states) and handed back
        (:func:`hub.disclosure.keep_decoded`), so the next event of the subject does not parse
        its JSON again. The event loop runs every :data:`RESCAN_SLICE_S` (a large table after
        a restart takes seconds to read; faust resumes the streams only once it is done). A
        row that does not read (only the local store can hold one) leaves every set unbuilt:
        the next tick scans in full and meets it there, as before.
        """
        self.invalidate()  # until the sets are rebuilt, a tick scans in full
        generation = self.generation
        found: dict[int, set[str]] = {n: set() for n in range(partitions)}
        read = 0
        slices = _Slices()
        try:
            for key, stored in rows:
                await slices.turn()
                token = key.decode()
                if token.startswith("__"):
                    continue
                data = value_of(stored).value
                state = SubjectState.from_bytes(data)
                if data:
                    keep_decoded(data, state)
                read += 1
                if state.sent:
                    found.setdefault(partition_of(token), set()).add(token)
        except (HubError, UnicodeDecodeError, ValueError):
            self.invalidate()
            return read
        if generation == self.generation:  # not recovered again meanwhile
            self._tokens = found
            self.generation += 1
        return read


class Correlation:
    """Accepted records in; outbox and decisions records, table rows and an outcome out."""

    def __init__(
        self, wiring: Wiring, tables: Tables, now: Callable[[], datetime] | None = None
    ) -> None:
        self.wiring = wiring
        self.tables = tables
        self._now = now or (lambda: datetime.now(UTC))
        settings = wiring.settings
        self.moments = Moments(wiring.clock, wiring.registry)
        areas = wiring.correlator.areas
        self._evaluators: dict[int, Evaluator] = {}
        self.counter = CountContext(areas, wiring.registry, self._evaluator_at)
        self.remembered = Remembered()  # SNA outcomes, across records
        self.flagged = FlaggedSubjects()
        self.watch = AreaWatch(
            load_area_rules(settings.deploy_dir / "rules"),
            areas,
            wiring.registry,
            wiring.correlator.dispatcher.recipients,
        )
        keys = wiring.keys
        self.sealer = Sealer(
            settings.outbox_topic,
            settings.decisions_topic,
            settings.partitions,
            keys.internal,
            keys.hub,
        )

    def open(self, value: bytes, place: Place, offset: int) -> Received:
        """The record read at ``offset`` of ``place``, verified there (CryptoError if not)."""
        record = self.wiring.keys.verifier.open(value, place, ACCEPTED_KINDS)
        return Received(record.kind, record.items, record.at, place.partition, offset)

    async def handle(self, value: bytes, place: Place, offset: int) -> Result:
        """:meth:`open` then :meth:`process`; a record that does not verify changes nothing."""
        try:
            received = self.open(value, place, offset)
        except CryptoError as exc:
            reason = refused(Position(place.topic, place.partition, offset), exc)
            policy = self.wiring.clock.sequence(place.partition)
            return Result(Outcome("refused", policy=policy, reason=reason))
        return await self.process(received)

    async def process(self, received: Received) -> Result:
        """Decide one verified record; raises HubError for one that cannot be decided."""
        batch = Batch(received, self.tables, self.wiring, self.counter, self.remembered)
        self._restore(batch)
        if received.kind is Kind.SWITCH:
            await self._switch(batch)
            kind = "switch"
        else:
            await self.policy_ready(received.partition)
            if received.kind is Kind.TICK:
                batch.note("subjects_changed", await self._rescan(batch, flagged_only=True))
                kind = "tick"
            else:
                await self._events(batch)
                kind = "events"
        return self._result(batch, kind)

    def tick(self, partition: int, at: datetime) -> bytes:
        """A clock tick for ``partition`` of the accepted topic, MACed for it."""
        place = Place(self.wiring.settings.accepted_topic, partition)
        return seal_record(Kind.TICK, at, (), place, self.wiring.keys.internal)

    async def policy_ready(self, partition: int) -> None:
        """Wait until every publication the partition's sequence names has been read.

        After a restart the sequence comes back from the table before this worker has read
        the agreements topic; deciding then would deny everything, silently.
        """
        clock = self.wiring.clock
        sequence = clock.sequence(partition)
        while not clock.ready_for(Switch(sequence)):
            log.info("agreements_awaited", partition=partition, sequence=sequence)
            await asyncio.sleep(SWITCH_WAIT_S)

    def _result(self, batch: Batch, kind: str) -> Result:
        now = self._now()
        emission, received = batch.emission, batch.received
        seal = Sealing(self.wiring.keys.internal, SNA_TABLE, received.partition).seal
        offset = received.offset
        sna = tuple(
            RowWrite(SNA_TABLE, key, seal(key, offset, v.to_bytes()))
            for key, v in batch.counting.changed().items()
        )
        counts = batch.counts
        outcome = Outcome(
            kind,
            policy=self.wiring.clock.sequence(received.partition),
            events=counts.get("events", 0),
            alerts=counts.get("alerts", 0),
            area_alerts=counts.get("area_alerts", 0),
            not_contributing=counts.get("not_contributing", 0),
            withdrawn_on_receipt=counts.get("withdrawn_on_receipt", 0),
            subjects_changed=counts.get("subjects_changed", 0),
            subjects_read=counts.get("subjects_read", 0),
        )
        return Result(
            outcome,
            outbox=emission.outbox(self.sealer, now),
            decisions=emission.ledger(self.sealer, now),
            decided=tuple(emission.decisions),
            rows=batch.rows.writes() + sna,
        )

    def _evaluator_at(self, partition: int, offset: int) -> Evaluator:
        """The agreements in force at a position, for the SNA counter: the evaluator of the
        partition's sequence (one per sequence, as :class:`Moments` keeps them), without
        building a whole moment per event."""
        sequence = self.wiring.clock.sequence(partition)
        found = self._evaluators.get(sequence)
        if found is None:
            found = self._evaluators[sequence] = self.moments.at(partition, _EPOCH, offset).policy
        return found

    def _restore(self, batch: Batch) -> None:
        """Resume the partition's agreement sequence from the table (after a restart or a move)."""
        partition = batch.received.partition
        stored = batch.rows.raw(POLICY_KEY.format(partition=partition))
        sequence = int(stored) if stored and stored.isdigit() else 0
        clock = self.wiring.clock
        if sequence > clock.sequence(partition):
            clock.restore(partition, sequence)

    def _moment(self, batch: Batch) -> Moment:
        """The record's moment, made once: its partition's sequence is settled by then (the
        policy row restored, a switch applied) and stays so for the rest of the record."""
        if batch.moment is None:
            received = batch.received
            batch.moment = self.moments.at(received.partition, received.at, received.offset)
        return batch.moment

    async def _events(self, batch: Batch) -> None:
        """Read every event of the record, count them for the SNA, then fold each, in order.

        The record is read whole first: one whose item does not read is refused for that
        (a decode error) before any event is folded, whatever a fold would have raised;
        nothing is stored either way (``tests/unit/correlation/test_events_order.py``)."""
        received = batch.received
        partition, offset, at = received.partition, received.offset, received.at
        batch.note("events", len(received.items))
        events = list(map(self.wiring.correlator.read, received.items))
        councils = batch.counting.add_record(events, partition, offset, at)
        for event, council in zip(events, councils, strict=True):
            token = event.subject_token
            if token is None:
                self._area(batch, event)
            elif batch.withdrawals.idle:
                self._fold_now(batch, event, token, council, self._moment(batch))
            else:
                await self._fold(batch, event, token, council)

    async def _fold(self, batch: Batch, event: Event, token: str, council: str | None) -> None:
        """Add one event to its subject (named by the authenticated event, never the key);
        ``council`` is its LSOA's, as the SNA counting found it."""
        state = batch.rows.subject(token)
        giving = event.event_type == GIVEN
        state, moment, early = await batch.withdrawals.fold(
            token, state, self._moment(batch), giving=giving
        )
        if early is not None:
            batch.rows.put(token, state)
            self.flagged.note(batch.received.partition, token, state)
            batch.emit(early)
        self._fold_now(batch, event, token, council, moment, withdrawn=early is not None)

    def _fold_now(
        self,
        batch: Batch,
        event: Event,
        token: str,
        council: str | None,
        moment: Moment,
        *,
        withdrawn: bool = False,
    ) -> None:
        """:meth:`_fold` once the consent feeds have been read (or need not be)."""
        state = batch.rows.subject(token)
        folded = self.wiring.correlator.fold_placed(event, council, state, moment)
        if folded is None:
            batch.note("withdrawn_on_receipt" if withdrawn else "not_contributing")
            return
        batch.rows.put(folded.token, folded.step.state)
        self.flagged.note(batch.received.partition, folded.token, folded.step.state)
        batch.emit(folded.step)

    def _area(self, batch: Batch, event: Event) -> None:
        """Fold an area-level event into its LSOA's counts; raise place-based alerts."""
        if not self.watch.rules:
            return
        row = AREA_KEY.format(lsoa=event.envelope.lsoa)
        state = batch.rows.area(row)
        updated, hotspots = fold_area(state, event, self.watch.rules)
        if updated is state or (updated.seen.keys() == state.seen.keys() and updated == state):
            return  # (a new id in ``seen`` is a new state: most events, compared no further)
        if hotspots:  # a step without alerts or decisions would emit nothing
            moment = self._moment(batch)
            pending = tuple(
                p for h in hotspots if (p := self.watch.alert(h, event, moment)) is not None
            )
            batch.emit(Step(state=_NO_STATE, pending=pending, decisions=()), "area_alerts")
        batch.rows.put(row, updated)

    async def _rescan(self, batch: Batch, *, flagged_only: bool) -> int:
        """Re-decide the partition's subjects (all of them, or those holding flags), in the
        table's order; a tick reads only those :attr:`flagged` names once it has them."""
        partition, changed = batch.received.partition, 0
        known = self.flagged.of(partition) if flagged_only else None
        generation = self.flagged.generation
        found: set[str] = set()
        slices = _Slices()
        for key, stored in list(self.tables.subjects.items()):
            token = key.decode()  # only rows the hub wrote are held: text
            if known is not None and token not in known:
                continue  # holds no flag: nothing for a tick to re-decide
            if token.startswith("__") or self._partition_of(token) != partition:
                continue
            await slices.turn()  # let the other agents run (RESCAN_SLICE_S)
            batch.note("subjects_read")
            before = batch.rows.seen(token, stored)
            if flagged_only and not before.sent:
                batch.rows.forget(token)
                continue
            state, moment, _ = await batch.withdrawals.fold(
                token, before, self._moment(batch), giving=False, step=False
            )
            step = self.wiring.correlator.rescan(token, state, moment)
            if before.sent or step.state.sent:
                found.add(token)
            if step.pending or step.state != before:
                batch.rows.put(token, step.state)
                batch.emit(step)
                changed += 1
            else:
                batch.rows.forget(token)
        if known is None:
            self.flagged.built(partition, found, generation)
        else:
            known &= found  # a subject found holding no flag is dropped
        return changed

    async def _switch(self, batch: Batch) -> None:
        """Apply an agreement switch marker once its publications have been read."""
        received = batch.received
        if len(received.items) != 1:
            raise HubError(f"a switch marker carries one item, not {len(received.items)}")
        marker = Switch.from_bytes(received.items[0])
        clock = self.wiring.clock
        while not clock.ready_for(marker):
            log.info("switch_waiting", partition=received.partition, sequence=marker.sequence)
            await asyncio.sleep(SWITCH_WAIT_S)
        clock.switch(received.partition, marker)
        batch.rows.put(
            POLICY_KEY.format(partition=received.partition), str(marker.sequence).encode()
        )
        changed = await self._rescan(batch, flagged_only=False)
        batch.note("subjects_changed", changed)
        log.info(
            "agreements_switched",
            partition=received.partition,
            sequence=marker.sequence,
            subjects=changed,
        )

    async def rebuild_flagged(self) -> None:
        """Find the flagged subjects of every partition from the subjects table (wired to its
        recovery: :meth:`FlaggedSubjects.rebuild`)."""
        started = time.perf_counter()
        partitions = self.wiring.settings.partitions
        rows = list(self.tables.subjects.items())
        read = await self.flagged.rebuild(rows, partitions, self._partition_of)
        log.info(
            "flagged_subjects_indexed",
            subjects=read,
            built=self.flagged.of(0) is not None,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def _partition_of(self, token: str) -> int:
        return partition_for(token.encode(), self.wiring.settings.partitions)
