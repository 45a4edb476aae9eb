"""The streams an auditor re-reads: the accepted topic and the agreements topic, indexed.

A :class:`History` holds what the hub decided from, rebuilt from those topics alone:

- the agreement publications (an :class:`~hub.dsa.AgreementBook`);
- per accepted partition, the switch markers, so the agreement sequence in force at any
  record (stream position) or time is known;
- every accepted event by id, with its position;
- per subject, its consent events in stream order, so its consent state at any position or
  time can be folded again exactly as the correlator folded it.

Pure: records come in as :class:`StreamRecord` values; reading Kafka is the caller's job.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hub.codec import SchemaStore
from hub.consent import ConsentLedger, is_consent_event
from hub.dsa import AgreementBook
from hub.errors import AgreementError, ConsentError, HubError
from hub.models import Event, validate_event
from hub.policy import SWITCH_KIND, TICK_KIND, Switch


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One accepted-topic record: where it is, its time, its kind header, key and value."""

    partition: int
    offset: int
    timestamp_ms: int
    kind: str
    key: bytes | None = field(repr=False)
    value: bytes = field(repr=False)

    @property
    def at(self) -> datetime:
        """Its time as the worker reads it (faust: milliseconds / 1000.0)."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000.0, UTC)


@dataclass(frozen=True, slots=True)
class Located:
    """An accepted event and where it was read."""

    partition: int
    offset: int
    at: datetime
    event: Event


@dataclass(slots=True)
class _Markers:
    """One partition's switch markers: offsets, times and the sequence in force after each."""

    offsets: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    sequences: list[int] = field(default_factory=list)

    def add(self, record: StreamRecord, sequence: int) -> None:
        in_force = max(sequence, self.sequences[-1] if self.sequences else 0)
        self.offsets.append(record.offset)
        self.times.append(record.timestamp_ms)
        self.sequences.append(in_force)

    def at_offset(self, offset: int) -> int:
        found = bisect_right(self.offsets, offset)
        return self.sequences[found - 1] if found else 0

    def at_time(self, millis: int) -> int:
        # producer clocks need not rise with offsets, so every marker is looked at
        reached = [s for t, s in zip(self.times, self.sequences, strict=True) if t <= millis]
        return max(reached, default=0)


@dataclass(slots=True)
class _Consents:
    """One subject's consent events and the ledger after each (folded on first use)."""

    partition: int
    events: list[Located] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    ledgers: list[ConsentLedger] = field(default_factory=list)

    def at_offset(self, offset: int) -> ConsentLedger:
        if len(self.ledgers) != len(self.events):
            self.offsets = [e.offset for e in self.events]
            self.ledgers = list(_folded(self.events))
        found = bisect_right(self.offsets, offset)
        return self.ledgers[found - 1] if found else ConsentLedger()

    def at_time(self, at: datetime) -> ConsentLedger:
        ledgers = list(_folded([e for e in self.events if e.at <= at]))
        return ledgers[-1] if ledgers else ConsentLedger()


def _folded(events: Iterable[Located]) -> Iterable[ConsentLedger]:
    """The ledger after each event, as the correlator folds them."""
    ledger = ConsentLedger()
    for located in events:
        with suppress(ConsentError):  # the correlator quarantined it: the state stays
            ledger = ledger.apply(located.event, located.at)
        yield ledger


@dataclass(slots=True)
class Counts:
    """What the history could not use, by kind (never the records themselves)."""

    undecodable: int = 0
    rejected_agreements: int = 0
    bad_markers: int = 0


class History:
    """Agreements and the accepted stream, indexed for positions and times."""

    def __init__(self, store: SchemaStore, agreements: Iterable[bytes]) -> None:
        self._store = store
        self.counts = Counts()
        book = AgreementBook()
        for value in agreements:
            try:
                book = book.apply(value)
            except AgreementError:
                self.counts.rejected_agreements += 1  # the worker logs and skips it too
        self.book = book
        self._times: dict[tuple[int, int], int] = {}
        self._markers: dict[int, _Markers] = {}
        self._raw: dict[str, tuple[int, int, int, bytes]] = {}
        self._events: dict[str, Located | None] = {}
        self._consents: dict[str, _Consents] = {}
        self._partitions: dict[str, int] = {}
        self.records = 0

    def add(self, record: StreamRecord) -> None:
        """Index one accepted-topic record (records of a partition in offset order)."""
        self.records += 1
        self._times[(record.partition, record.offset)] = record.timestamp_ms
        if record.kind == SWITCH_KIND:
            self._switch(record)
        elif record.kind != TICK_KIND:
            self._event(record)

    def _switch(self, record: StreamRecord) -> None:
        try:
            sequence = Switch.from_bytes(record.value).sequence
        except AgreementError:
            self.counts.bad_markers += 1
            return
        self._markers.setdefault(record.partition, _Markers()).add(record, sequence)

    def _event(self, record: StreamRecord) -> None:
        try:
            decoded = self._store.decode(record.value)
            event_id = str(decoded.record["envelope"]["event_id"])
        except (HubError, KeyError, TypeError):
            self.counts.undecodable += 1
            return
        if record.key and not record.key.startswith(b"area:"):
            self._partitions.setdefault(record.key.decode(errors="replace"), record.partition)
        if is_consent_event(decoded.event_type):
            self._consent(record)
        if event_id not in self._raw:  # a redelivered event: the first one is the one folded
            raw = (record.partition, record.offset, record.timestamp_ms, record.value)
            self._raw[event_id] = raw

    def _consent(self, record: StreamRecord) -> None:
        located = self._validated(
            record.partition, record.offset, record.timestamp_ms, record.value
        )
        if located is None or located.event.subject_token is None:
            return
        token = located.event.subject_token
        consents = self._consents.setdefault(token, _Consents(record.partition))
        if consents.partition == record.partition:
            consents.events.append(located)

    def _validated(self, partition: int, offset: int, millis: int, value: bytes) -> Located | None:
        try:
            event = validate_event(self._store.decode(value), clock=None)  # accepted already
        except HubError:
            self.counts.undecodable += 1
            return None
        return Located(partition, offset, datetime.fromtimestamp(millis / 1000.0, UTC), event)

    def timestamp(self, partition: int, offset: int) -> datetime | None:
        """The time of the record at a position, or None when there is no such record."""
        millis = self._times.get((partition, offset))
        return None if millis is None else datetime.fromtimestamp(millis / 1000.0, UTC)

    def sequence_at(self, partition: int, offset: int) -> int:
        """The agreement sequence in force at a position (markers at or before it)."""
        markers = self._markers.get(partition)
        return markers.at_offset(offset) if markers else 0

    def sequence_at_time(self, partition: int, at: datetime) -> int:
        """The agreement sequence the partition had switched to by time ``at``."""
        markers = self._markers.get(partition)
        return markers.at_time(round(at.timestamp() * 1000)) if markers else 0

    def event(self, event_id: str) -> Located | None:
        """An accepted event by id (its first occurrence), validated on first use."""
        if event_id in self._events:
            return self._events[event_id]
        raw = self._raw.get(event_id)
        located = None if raw is None else self._validated(*raw)
        self._events[event_id] = located
        return located

    def partition_of(self, token: str) -> int | None:
        """The partition a subject's records were read in, if any was."""
        return self._partitions.get(token)

    def consent_at(self, token: str, partition: int, offset: int) -> ConsentLedger:
        """The subject's consent ledger after every consent event at or before a position."""
        consents = self._consents.get(token)
        if consents is None or consents.partition != partition:
            return ConsentLedger()
        return consents.at_offset(offset)

    def consent_at_time(self, token: str, at: datetime) -> ConsentLedger:
        """The subject's consent ledger after every consent event read by time ``at``."""
        consents = self._consents.get(token)
        return ConsentLedger() if consents is None else consents.at_time(at)
