"""The streams an auditor re-reads: the accepted topic and the agreements topic, indexed.

A :class:`History` holds what the hub decided from, rebuilt from those topics alone:

- the agreement publications (an :class:`~hub.dsa.AgreementBook`);
- per accepted partition, the switch markers, so the agreement sequence in force at any
  record (stream position) or time is known;
- every accepted event by id, with its position;
- per subject, its consent events in stream order, so its consent state at any position or
  time can be folded again exactly as the correlator folded it.

Only what a trusted key authenticates is used (``docs/threat-model.md``):

- agreement publications and suspensions, and switch markers, must verify under a
  governance key the reader trusts (public keys suffice); anything else is refused and counted;
- events and ticks carry the hub's internal MAC. An auditor holding public keys only cannot
  check it: those records are read as written (``counts.unverified``), and the decisions
  themselves are authenticated by the hub's signature and the ledger. A reader holding the
  internal key (the hub's operators) checks it too, and refuses what does not verify.

Every time used is the record's authenticated time, never the broker's record timestamp.

Pure: records come in as :class:`StreamRecord` values; reading Kafka is the caller's job.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime

from hub.codec import DecodedEvent, SchemaStore
from hub.consent import ConsentLedger, is_consent_event
from hub.crypto.record import InternalRecord, Kind, Place, moment_of, parse
from hub.crypto.trust import RecordVerifier
from hub.errors import (
    AgreementError,
    ConsentError,
    CryptoError,
    HubError,
    UnexpectedKindError,
)
from hub.governance import fold_book
from hub.models import Event, validate_event
from hub.models.accepted import Located
from hub.policy import Switch

#: What the accepted topic carries.
ACCEPTED_KINDS = frozenset({Kind.EVENTS, Kind.TICK, Kind.SWITCH})


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One accepted-topic record as read: where it is, its key and value.

    ``timestamp_ms`` is the broker's record timestamp and ``kind`` the kind the value claims:
    both are kept for exports and people, and neither is trusted here.
    """

    partition: int
    offset: int
    timestamp_ms: int
    kind: str
    key: bytes | None = field(repr=False)
    value: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Scope:
    """The accepted partitions a history indexes: ``partitions``, or every other one when
    ``others`` (a sharded replay's process indexes its own partitions only:
    :mod:`hub.audit.shard`)."""

    partitions: frozenset[int]
    others: bool = False

    def keeps(self, partition: int) -> bool:
        """Whether records of the partition are indexed."""
        return (partition in self.partitions) is not self.others


@dataclass(frozen=True, slots=True)
class StreamTrust:
    """How a history authenticates what it reads: the keys, and the topics records are bound to."""

    verifier: RecordVerifier
    agreements_topic: str
    accepted_topic: str


@dataclass(slots=True)
class _Markers:
    """One partition's switch markers: offsets, times and the sequence in force after each."""

    offsets: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    sequences: list[int] = field(default_factory=list)

    def add(self, offset: int, millis: int, sequence: int) -> None:
        in_force = max(sequence, self.sequences[-1] if self.sequences else 0)
        self.offsets.append(offset)
        self.times.append(millis)
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
    by_id: dict[str, Located] = field(default_factory=dict)
    """Each event by id (its first occurrence)."""

    def at_offset(self, offset: int) -> ConsentLedger:
        if len(self.ledgers) != len(self.events):
            self.offsets = [e.offset for e in self.events]
            self.ledgers = list(_folded(self.events))
        found = bisect_right(self.offsets, offset)
        return self.ledgers[found - 1] if found else _NO_CONSENTS

    def at_time(self, at: datetime) -> ConsentLedger:
        ledgers = list(_folded([e for e in self.events if e.at <= at]))
        return ledgers[-1] if ledgers else _NO_CONSENTS


_NO_CONSENTS = ConsentLedger()
"""The ledger of a subject with no consent event (immutable: one for every lookup)."""


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
    refused: int = 0
    """Accepted-topic records that did not verify: never used."""
    unverified: int = 0
    """Events and ticks read without checking their MAC (no internal key: an auditor)."""


class History:
    """Agreements and the accepted stream, indexed for positions and times.

    With a :class:`Scope`, records of the partitions it leaves out are kept aside, not read
    (nor counted): a sharded replay's process indexes only its own. Asked about an event
    its partitions do not hold, or about a position out of them, it reads the records kept
    aside then (:meth:`_complete`: once, in reading order, still counting its own
    partitions' records only) and answers as the whole stream does, unless an event id or a
    subject's consent events are in both its partitions and the others (then it has
    *strayed*: the first occurrence depends on the reading order across partitions). It notes
    what it answered from its own partitions alone (its :class:`Reach`):
    :func:`hub.audit.shard.conflict` compares the shards' reaches and replays in one process
    when any answer could differ from the whole stream's.
    """

    def __init__(
        self,
        store: SchemaStore,
        agreements: Iterable[bytes],
        trust: StreamTrust,
        scope: Scope | None = None,
    ) -> None:
        self._store = store
        self._trust = trust
        self.scope = scope
        self.reach = Reach() if scope is not None else None
        """What a scoped history was asked (None when it indexes every partition)."""
        self._aside: list[StreamRecord] = []
        """The records of partitions out of scope, in reading order (until completed)."""
        self._own: tuple[set[str], set[str]] | None = None
        """Once completed: the event ids and consent subjects of the scope's partitions."""
        self.counts = Counts()
        folded = fold_book(agreements, trust.verifier, trust.agreements_topic)
        self.counts.rejected_agreements = len(folded.refused)  # the worker refuses them too
        self.book = folded.book
        self._times: dict[tuple[int, int], int] = {}
        self._markers: dict[int, _Markers] = {}
        self._raw: dict[str, tuple[int, int, int, DecodedEvent]] = {}
        """Each event's first occurrence: where, when, and its record as decoded when indexed
        (validated on first lookup from that decoding, never decoded again)."""
        self._events: dict[str, Located | None] = {}
        self._consents: dict[str, _Consents] = {}
        self._partitions: dict[str, int] = {}
        self.records = 0
        self.undecodable_events: set[str] = set()
        """Events found undecodable when first looked up (:meth:`event`; counted in
        ``counts.undecodable`` too): a sharded replay's histories each count their own."""

    def add(self, record: StreamRecord) -> None:
        """Index one accepted-topic record (records of a partition in offset order); one of a
        partition out of the history's scope is skipped."""
        if self.scope is not None and self._own is None and not self.scope.keeps(record.partition):
            self._aside.append(record)
            return
        self.records += 1
        try:
            opened = self._open(record)
        except CryptoError:
            self.counts.refused += 1  # the worker refused it too: it decided nothing there
            return
        self._times[(record.partition, record.offset)] = opened.millis
        if opened.kind is Kind.SWITCH:
            self._switch(record, opened)
        elif opened.kind is Kind.EVENTS:
            for item in opened.items:
                self._event(record, opened.millis, item)

    def _open(self, record: StreamRecord) -> InternalRecord:
        """The record, authenticated as far as the keys held allow (see the module doc)."""
        place = Place(self._trust.accepted_topic, record.partition)
        verifier = self._trust.verifier
        parsed = parse(record.value)
        if parsed.kind is Kind.SWITCH or verifier.keys.can_mac:
            return verifier.open(record.value, place, ACCEPTED_KINDS)
        if parsed.kind not in ACCEPTED_KINDS:
            raise UnexpectedKindError(parsed.kind.value, self._trust.accepted_topic)
        self.counts.unverified += 1
        return parsed

    def _switch(self, record: StreamRecord, opened: InternalRecord) -> None:
        try:
            (item,) = opened.items
            sequence = Switch.from_bytes(item).sequence
        except (AgreementError, ValueError):
            self.counts.bad_markers += 1
            return
        markers = self._markers.setdefault(record.partition, _Markers())
        markers.add(record.offset, opened.millis, sequence)

    def _event(self, record: StreamRecord, millis: int, item: bytes) -> None:
        try:
            decoded = self._store.decode(item)
            event_id = str(decoded.record["envelope"]["event_id"])
            token = decoded.record["envelope"].get("subject_token")
        except (HubError, KeyError, TypeError, AttributeError):
            self.counts.undecodable += 1
            return
        if isinstance(token, str):
            self._partitions.setdefault(token, record.partition)
        if self._own is not None and event_id in self._own[0]:
            self.reach.strayed = True  # type: ignore[union-attr]  # completing: scoped
        first = event_id not in self._raw  # a redelivered event: the first one is the one folded
        if is_consent_event(decoded.event_type):
            located = self._consent(record, millis, decoded)
            if first and located is not None:  # validated already: the same as event() makes
                self._events[event_id] = located
        if first:
            self._raw[event_id] = (record.partition, record.offset, millis, decoded)

    def _consent(self, record: StreamRecord, millis: int, decoded: DecodedEvent) -> Located | None:
        located = self._validated(record.partition, record.offset, millis, decoded)
        if located is None or located.event.subject_token is None:
            return located
        token = located.event.subject_token
        if self._own is not None and token in self._own[1]:
            self.reach.strayed = True  # type: ignore[union-attr]  # completing: scoped
        consents = self._consents.setdefault(token, _Consents(record.partition))
        if consents.partition == record.partition:
            consents.events.append(located)
            consents.by_id.setdefault(located.event.event_id, located)
        return located

    def _validated(
        self, partition: int, offset: int, millis: int, decoded: DecodedEvent
    ) -> Located | None:
        try:
            event = validate_event(decoded, clock=None)  # accepted already
        except HubError:
            self.counts.undecodable += 1
            return None
        return Located(partition, offset, moment_of(millis), event)

    def timestamp(self, partition: int, offset: int) -> datetime | None:
        """The authenticated time of the record at a position, or None when there is none."""
        self._place(partition)
        millis = self._times.get((partition, offset))
        return None if millis is None else moment_of(millis)

    def sequence_at(self, partition: int, offset: int) -> int:
        """The agreement sequence in force at a position (markers at or before it)."""
        self._place(partition)
        markers = self._markers.get(partition)
        return markers.at_offset(offset) if markers else 0

    def sequence_at_time(self, partition: int, at: datetime) -> int:
        """The agreement sequence the partition had switched to by time ``at``."""
        self._place(partition)
        markers = self._markers.get(partition)
        return markers.at_time(round(at.timestamp() * 1000)) if markers else 0

    def event(self, event_id: str) -> Located | None:
        """An accepted event by id (its first occurrence), validated on first use."""
        if event_id in self._events:
            located = self._events[event_id]
        else:
            raw = self._raw.get(event_id)
            if raw is None and self.reach is not None and self._own is None:
                self._complete()  # not in this history's partitions: perhaps in another's
                raw = self._raw.get(event_id)
            located = None if raw is None else self._validated(*raw)
            if located is None and raw is not None:
                self.undecodable_events.add(event_id)
            self._events[event_id] = located
        if self.reach is not None and self._own is None:  # answered from its partitions
            self.reach.events.add(event_id)
        return located

    def located(self) -> Iterable[Located]:
        """Every accepted event (its first occurrence) that validates, in reading order."""
        if self.reach is not None:
            self.reach.strayed = True  # every partition's events: a scoped history has some
        for event_id in list(self._raw):
            found = self.event(event_id)
            if found is not None:
                yield found

    def partition_of(self, token: str) -> int | None:
        """The partition a subject's records were read in, if any was."""
        if self.reach is not None:
            self.reach.strayed = True  # the first of every partition's: not a scoped question
        return self._partitions.get(token)

    def consent_at(self, token: str, partition: int, offset: int) -> ConsentLedger:
        """The subject's consent ledger after every consent event at or before a position."""
        self._place(partition)
        self._subject(token)
        consents = self._consents.get(token)
        if consents is None or consents.partition != partition:
            return _NO_CONSENTS
        return consents.at_offset(offset)

    def consent_event(self, token: str, event_id: str) -> Event | None:
        """One of the subject's consent events, wherever it is in its partition."""
        found = self.consent_located(token, event_id)
        return None if found is None else found.event

    def consent_located(self, token: str, event_id: str) -> Located | None:
        """One of the subject's consent events and where it is in the accepted topic."""
        self._subject(token)
        consents = self._consents.get(token)
        return None if consents is None else consents.by_id.get(event_id)

    def consent_at_time(self, token: str, at: datetime) -> ConsentLedger:
        """The subject's consent ledger after every consent event read by time ``at``."""
        self._subject(token)
        consents = self._consents.get(token)
        return _NO_CONSENTS if consents is None else consents.at_time(at)

    def _place(self, partition: int) -> None:
        """Before a question about a partition: read it first if it is out of scope."""
        if self.scope is not None and self._own is None and not self.scope.keeps(partition):
            self._complete()

    def _subject(self, token: str) -> None:
        """Note a question about a subject's consent events, answered from the scope's
        partitions alone (until completed)."""
        if self.reach is not None and self._own is None:
            self.reach.subjects.add(token)

    @property
    def completed(self) -> bool:
        """Whether a scoped history has read the partitions out of its scope too."""
        return self._own is not None

    def _complete(self) -> None:
        """Index the records kept aside (every partition out of scope), in reading order,
        after the scope's own: an event id or a consent subject found in both is the whole
        stream's first occurrence only by chance (the history has *strayed*). The counts
        stay the scope's partitions' (their records are another shard's to count)."""
        self._own = (set(self._raw), set(self._consents))
        counts, records = replace(self.counts), self.records
        aside, self._aside = self._aside, []
        for record in aside:
            self.add(record)
        self.counts, self.records = counts, records

    def indexed(self) -> Reach:
        """What a scoped history was asked (:attr:`reach`), with the event ids and the
        subjects with consent events its partitions hold."""
        reach = self.reach or Reach()
        held = self._own or (set(self._raw), set(self._consents))
        return Reach(
            events=reach.events,
            subjects=reach.subjects,
            strayed=reach.strayed,
            held_events=held[0],
            held_subjects=held[1],
        )


@dataclass(slots=True)
class Reach:
    """What a history indexing some partitions only (a :class:`Scope`) was asked, and what
    it holds: another shard's history holding what this one was asked means this one's
    answer may not be the whole stream's (:func:`hub.audit.shard.conflict`)."""

    events: set[str] = field(default_factory=set)
    """Every event id looked up (:meth:`History.event`)."""
    subjects: set[str] = field(default_factory=set)
    """Every subject whose consent events were looked up."""
    strayed: bool = False
    """Whether an answer may not be the whole stream's: an event id or consent subject in
    both its partitions and others (:meth:`History._complete`), or a question about every
    partition's events at once."""
    held_events: set[str] = field(default_factory=set)
    """The event ids its own partitions hold (first occurrences that decoded)."""
    held_subjects: set[str] = field(default_factory=set)
    """The subjects its own partitions hold consent events of."""
