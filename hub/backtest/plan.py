"""The order a backtest runs its messages in: each chunk's steps, numbered for the whole run.

A batch record's events are taken one by one, each with the record it came from
(:mod:`hub.backtest.batches`). A chunk's messages are taken in their events' ``recorded_at``
order (then event id, then place in the chunk), read from their envelopes alone
(:mod:`hub.backtest.envelope`). A message whose envelope cannot be read is taken at once, in
chunk order, at the clock's current time (ingest refuses it and says why), and so is one
whose time lies outside the period but which does not decode whole; one that does is
counted and not run. Before the first message of each
event-time day comes that day's tick. Each message taken carries its number in the run
(ingest's feed position and the decisions' position) and each tick the number of messages taken
before it.

The steps are a function of the run's chunks alone, so a run split across processes
(:mod:`hub.backtest.shards`) gives every process the ticks and the numbers the one-process run
has, and each process only its own messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from hub.agency import FeedMessage as SealedMessage
from hub.agency.message import Headers
from hub.backtest.batches import sealed_event, taken_from
from hub.backtest.envelope import EnvelopeRead
from hub.backtest.period import Period
from hub.errors import HubError

Sealed = tuple[str, SealedMessage]
"""An agency id and one sealed message of its feed, as ``hub feed`` would send it."""


class Tick(NamedTuple):
    """The clock tick at ``at`` (a midnight), after ``offset`` messages of the run."""

    at: datetime
    offset: int


class Take(NamedTuple):
    """One message run at ``now``, the ``offset``-th of the run (from 1).

    Steps are named tuples, not frozen dataclasses: one is made for every event (twice
    across processes: planned, then unwired where it runs), and a frozen dataclass costs
    three times as much to make (each field set through ``object.__setattr__``)."""

    item: Sealed
    offset: int
    now: datetime
    key: str | None
    """What correlation keys it by, read from its envelope before any check: its subject's
    linkage token, ``area:<LSOA>`` for an area event, or None when unreadable."""
    event_id: str | None
    batch: bytes | None = None
    """The batch record the message was taken from (:mod:`hub.backtest.batches`), or None."""


class Seen(NamedTuple):
    """An event id another process accepted at ``position`` (its ingest de-duplicates by it)."""

    event_id: str
    position: str


Planned = Tick | Take | Seen


Record = tuple[str, SealedMessage, Headers, bytes | None]
"""A feed message as the planner takes its events (:func:`~hub.backtest.batches.taken_from`):
its agency, the message, the headers each event has, and the batch record they came from
(None: the message is taken as it is)."""

Row = tuple[int, datetime, bytes, int, str | None, str | None]
"""A message taken, as :meth:`Planner.plan` gives it: its offset, the clock (``now``), its
event's bytes, the index of its record in the plan's records, its key and event id (None
when its envelope does not read)."""


class Plan(NamedTuple):
    """A chunk's steps before any per-event message is made (:meth:`Planner.plan`)."""

    records: list[Record]
    rows: list[Tick | Row]


class Planner:
    """Turns chunks into steps, keeping the run's clock, count and day between chunks."""

    def __init__(self, period: Period, envelopes: EnvelopeRead) -> None:
        self._read, self._whole = envelopes.read, envelopes.whole
        self.now = period.start
        self.offset = 0
        self.read = 0
        self.outside = 0
        self._day: date | None = None
        self._bounds = (period.start, period.end)

    def steps(self, messages: Iterable[Sealed]) -> list[Planned]:
        """A chunk's steps (a chunk must not reach back before the last: if it does, its
        first tick is earlier than the one before, and the runner rescans everyone)."""
        records, rows = self.plan(messages)
        return [row if isinstance(row, Tick) else _take(records, row) for row in rows]

    def plan(self, messages: Iterable[Sealed]) -> Plan:
        """A chunk's steps as rows: each message taken is a :data:`Row` (its message made
        only by whoever runs it, :meth:`steps`), each tick a :class:`Tick`."""
        records: list[Record] = []
        rows: list[Tick | Row] = []
        timed: list[tuple[datetime, str, int, bytes, int, str | None]] = []
        n = 0
        start, end = self._bounds  # Period.contains, its bounds computed once
        read, whole = self._read, self._whole
        for agency, message in messages:
            values, headers, batch = taken_from(message)
            record = len(records)
            records.append((agency, message, headers, batch))
            for value in values:
                self.read += 1
                n += 1
                try:
                    envelope, decoded = read(value)
                except HubError:
                    pass
                else:
                    at = envelope.recorded_at
                    if start <= at < end:
                        timed.append((at, envelope.event_id, n, value, record, envelope.key))
                        continue
                    if decoded or (decoded is None and whole(value)):
                        self.outside += 1
                        continue
                self.offset += 1  # taken at once: ingest quarantines it
                rows.append((self.offset, self.now, value, record, None, None))
        timed.sort()  # by time, event id, place: places differ, so nothing after is compared
        offset, day = self.offset, self._day
        for at, event_id, _, value, record, key in timed:
            if day != at.date():
                day = at.date()
                rows.append(Tick(datetime.combine(day, _MIDNIGHT, UTC), offset))
            offset += 1
            rows.append((offset, at, value, record, key, event_id))
        if timed:
            self.now, self.offset, self._day = timed[-1][0], offset, day
        return Plan(records, rows)


_MIDNIGHT = datetime.min.time()

Wired = tuple[str, bytes, Headers, bytes | None]
"""A record as a run across processes sends it: its agency, key, the headers each of its
events has, and its batch bytes (None: one message, whose value is its row's)."""

Sent = tuple[list[Wired], list[tuple[Any, ...]]]
"""Steps as a run across processes sends them (plain tuples pickle several times faster than
named tuples): records, and rows: a message taken is ``(offset, now, value, record)`` (its
record's index in the records, :data:`TAKEN` fields), a tick ``(offset, at)``, an event id
another process accepted ``(event_id, position)``."""

TAKEN = 4
"""The length of a sent row that is a message taken."""


def _take(records: list[Record], row: Row) -> Take:
    offset, now, value, record, key, event_id = row
    agency, message, headers, batch = records[record]
    if batch is not None:
        message = sealed_event(message.key, value, headers)
    return Take((agency, message), offset, now, key, event_id, batch)
