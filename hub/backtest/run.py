"""The backtest runner: ingest and correlation in event time, nothing delivered.

Messages are taken in the order of their events' ``recorded_at`` (then event id), and the
clock is that time: ingest's timeliness checks, the decision time and every window are
judged against it. Once per event-time day the subjects holding flags are re-decided (the
live hub's clock ticks), so flags expire when their windows close: a subject whose last
rescan changed nothing is rescanned only when something it depends on in time can change;
its ticks until then, which the worker would not record, count nothing
(:mod:`hub.backtest.schedule`). Agency keys are checked for their signatures but not for
their validity windows: a key made this year seals last year's events in a backtest.
"""

from __future__ import annotations

import pickle
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from hub.agency.message import Headers
from hub.backtest.batches import BatchSeals
from hub.backtest.collector import chunk_collected
from hub.backtest.decoded import DecodedOnce
from hub.backtest.envelope import EnvelopeRead, Envelopes
from hub.backtest.period import MonthOf, Period
from hub.backtest.plan import TAKEN, Planned, Planner, Sealed, Sent, Take, Tick, Wired
from hub.backtest.schedule import Instants, Wakes, WatchedDispatcher, added_alone
from hub.backtest.tally import Report, Tally
from hub.backtest.unsealed import UnsealedKey, counted
from hub.codec import load_catalogue
from hub.config import Settings
from hub.correlate import Correlator
from hub.crypto import HmacKey, Keyring
from hub.dispatch import Dispatcher, Moment, Position, Recipient, Step, SubjectState
from hub.dsa import AgreementBook, Evaluator
from hub.dsa.document import Agreement
from hub.dsa.loader import load_directory
from hub.flags import Episode
from hub.ingest import FeedMessage, Ingest, IngestContext
from hub.models.built import replaced, slot_setters
from hub.quarantine import SourceRef, quarantine
from hub.rules import Rule
from hub.runtime import load_correlator, load_ingest_context


class Policy(StrEnum):
    """Which agreements decide: as they were dated, or today's as if always in force."""

    DATED = "dated"
    CURRENT = "current"


@dataclass(frozen=True, slots=True)
class BacktestSetup:
    """The domain objects a run uses: ingest, correlation with run-only keys, agreements."""

    ingest: IngestContext
    correlator: Correlator
    evaluator: Evaluator
    sequence: int
    policy: Policy

    @classmethod
    def load(
        cls, settings: Settings, policy: Policy, period: Period, now: datetime
    ) -> BacktestSetup:
        """Everything from the settings' deploy directory; ``now`` picks today's agreements."""
        ingest = load_ingest_context(settings)
        live = load_correlator(settings, ingest.registry, Keyring.open(settings.keys_dir))
        recipients = tuple(  # run-only keys; alerts kept in plain (nothing is delivered)
            Recipient(p.id, UnsealedKey.generate(), HmacKey.generate())
            for p in ingest.registry.partnerships
        )
        dispatcher = WatchedDispatcher(
            live.dispatcher.rules, recipients, remembered=_REMEMBERED, ledger=False
        )
        correlator = replace(live, dispatcher=dispatcher)
        agreements = [a for _, a in load_directory(settings.deploy_dir / "agreements").agreements]
        book = _book(agreements, policy, period, now)
        evaluator = Evaluator(book, ingest.registry)
        return cls(ingest, correlator, evaluator, book.last_sequence, policy)


_REMEMBERED = 16_384
"""Above 0: the backtest's dispatcher remembers windows' classes and sights, and the hub's
flags of deny records, across dispatches (:class:`hub.dispatch.Dispatcher`; its ticks rescan
subjects daily). Its windows' episodes are the flags' own memos' (:mod:`hub.flags.engine`)."""


def _book(
    agreements: list[Agreement], policy: Policy, period: Period, now: datetime
) -> AgreementBook:
    book = AgreementBook.from_agreements(agreements)
    if policy is Policy.DATED:
        return book
    return AgreementBook.from_agreements(_backdated(a, period.first) for a in book.in_force(now))


def _backdated(agreement: Agreement, first: date) -> Agreement:
    """The agreement as if signed and in force from ``first`` (and still in force)."""
    signatories = tuple(
        s.model_copy(update={"signed_on": min(s.signed_on or first, first)})
        for s in agreement.signatories
    )
    start = min(agreement.effective_from, first)
    return agreement.model_copy(
        update={"effective_from": start, "effective_to": None, "signatories": signatories}
    )


class Backtest:
    """One run: feed it chunks of sealed messages, then take its report.

    ``daily`` rescans every flagged subject at every tick, as the live clock does, instead of
    only those whose decisions can change (:mod:`hub.backtest.schedule`): the same report,
    slower; kept to test that they agree.
    """

    def __init__(
        self,
        setup: BacktestSetup,
        period: Period,
        *,
        daily: bool = False,
        after_events: bool = True,
    ) -> None:
        self._setup = setup
        self._period = period
        self._now = period.start
        self._decoder = DecodedOnce(load_catalogue(setup.ingest.settings.schemas_dir))
        settings, registry = setup.ingest.settings, setup.ingest.registry
        self._seals = BatchSeals.of_registry(settings.keys_dir, registry)
        context = replace(
            setup.ingest, clock=lambda: self._now, decoder=self._decoder, verifier=self._seals
        )
        self._ingest = Ingest(context)
        self._seen: dict[str, str] = {}
        self._states: dict[str, SubjectState] = {}
        self._cold: dict[str, bytes] = {}
        self._touched: set[str] = set()
        self._recent: set[str] = set()
        self._flagged: set[str] = set()
        self._known: set[str] = set()
        self._rule_of: dict[str, str] = {}
        self._offset = 0
        self._sources: dict[str, SourceRef] = {}
        dispatcher = setup.correlator.dispatcher
        self._watched = _watched(dispatcher)
        self._ledger = dispatcher.ledger
        self._daily = daily or self._watched is None
        book = setup.evaluator.book
        self._instants = Instants(book.breakpoints(), dispatcher.rules)
        self._last_tick: datetime | None = None
        self._wakes = Wakes()
        self._after_events = after_events
        self.rescans = 0
        self.kept = 0
        """Events after which their subject stayed quiet (:func:`~hub.backtest.schedule.
        added_alone`): each a tick's dispatch not made, which would have recorded nothing."""
        self.unrecorded = 0
        """Of :attr:`rescans`, those that sent nothing and changed nothing (the worker records
        none of them): what a sharper schedule could skip."""
        read = EnvelopeRead.ahead(Envelopes(self._decoder), self._decoder.ahead)
        self._planner = Planner(period, read)
        self._tally = Tally()
        self._decided: defaultdict[str, Counter[tuple[str, str, str]]] = defaultdict(Counter)
        """Per month: decisions by (rule, partnership, outcome), not yet in the tally."""
        self._month = MonthOf()

    def feed(self, messages: Iterable[Sealed]) -> None:
        """Run a chunk of messages in event time (a chunk must not reach back before the last)."""
        self.run(self._planner.steps(messages))
        self._decoder.forget()

    def run(self, steps: Iterable[Planned]) -> None:
        """Run steps planned for the whole run (:mod:`hub.backtest.plan`), in order (the
        cyclic collector off meanwhile, one young pass after if a message was refused, whose
        exception is a reference cycle: :mod:`hub.backtest.collector`)."""
        with self._chunk():
            self._run(steps)

    def run_sent(self, sent: Sent) -> None:
        """:meth:`run` for steps as a run across processes sends them (:data:`~hub.backtest.
        plan.Sent`): each message run from its row and record, no step or message made."""
        with self._chunk():
            self._run_sent(sent)

    @contextmanager
    def _chunk(self) -> Iterator[None]:
        refused = self._tally.quarantined.total()
        with chunk_collected(lambda: self._tally.quarantined.total() != refused):
            yield
            self._seals.forget()
            self._cool()

    def _run(self, steps: Iterable[Planned]) -> None:
        for step in steps:
            if isinstance(step, Take):
                self._now = step.now
                agency, sealed = step.item
                record = (agency, sealed.key, sealed.headers, step.batch)
                self._process(record, sealed.value, step.offset)
            elif isinstance(step, Tick):
                self._offset = step.offset
                self._tick(step.at)
            else:
                self._seen[step.event_id] = step.position

    def _run_sent(self, sent: Sent) -> None:
        records, rows = sent
        for row in rows:
            if len(row) == TAKEN:
                offset, self._now, value, record = row
                self._process(records[record], value, offset)
            elif isinstance(row[0], int):
                self._offset = row[0]
                self._tick(row[1])
            else:
                self._seen[row[0]] = row[1]

    def accepted_at(self, event_id: str) -> str | None:
        """The feed position this run accepted ``event_id`` from, if it did."""
        return self._seen.get(event_id)

    @property
    def read(self) -> int:
        """Messages fed so far (through :meth:`feed`)."""
        return self._planner.read

    @property
    def tally(self) -> Tally:
        """The exact counts of everything fed so far."""
        self._tally.outside = self._planner.outside
        decisions = self._tally.decisions
        for month, counts in self._decided.items():
            for (rule, pid, outcome), n in counts.items():
                decisions[(rule, pid, month)][outcome] += n
        self._decided.clear()
        return self._tally

    def finish(self, meta: Mapping[str, Any] | None = None) -> Report:
        """The report of everything fed so far."""
        return self.tally.report(describe(self._period, self._setup.policy, self.read, meta))

    def _process(self, record: Wired, value: bytes, offset: int) -> None:
        """Run one message: its record's agency, key, headers and batch, its value."""
        agency, key, headers, batch = record
        self._offset = offset
        source = self._source(agency, offset)
        message = _feed_message(value, key, headers, source, agency)
        refused = self._seals.open(batch, agency)  # None: a message that came alone
        if refused is not None:  # the record's seal failed: each of its events is refused
            self._tally.quarantined[quarantine(value, source, refused).reason] += 1
            return
        outcome = self._ingest.judge(message, self._seen)  # delivers nothing: no record built
        if outcome.status != "accepted":
            self._tally.quarantined[outcome.reason] += 1
            return
        event = self._setup.correlator.read(value)
        month = self._month(self._now)
        self._tally.events[month] += 1
        token = event.subject_token
        if token is None:
            return
        self._tally.about_subjects[month] += 1
        if token in self._known:
            self._tally.linked[month] += 1
        self._known.add(token)
        wake = self._wakes.quiet.pop(token, None)  # dispatched now: quiet again only if below
        self._touched.add(token)
        state = self._states.get(token) or self._thawed(token)
        folded = self._setup.correlator.fold_event(event, state, self._moment(self._now))
        if folded is None:
            self._forget_episodes()
            if wake is not None:
                self._wakes.again(token, wake, wake)  # nothing changed: still quiet
            return
        step = folded.step
        self._apply(token, step)
        if wake is None or self._now >= wake or step.pending or not self._after_events:
            self._forget_episodes()  # not needed: the subject is rescanned at the next tick
        elif added_alone(state, step.state):  # still quiet (schedule.added_alone)
            episodes = self._episodes()
            if episodes:
                later = self._instants.wake(self._now, step.state, episodes)
                self._wakes.again(token, wake, min(wake, later or _NEVER))
                self.kept += 1
        else:
            self._forget_episodes()

    def _source(self, agency: str, offset: int) -> SourceRef:
        """Where a message was read from: the agency's feed at ``offset`` (the agency's first
        with its offset replaced, :func:`hub.models.built.replaced`: two thirds of the cost of
        a pydantic copy, a third of building one)."""
        first = self._sources.get(agency)
        if first is None:
            first = SourceRef(topic=f"backtest.{agency}", partition=0, offset=offset)
            self._sources[agency] = first
            return first
        return replaced(first, offset=offset)

    def _cool(self) -> None:
        """Keep as bytes the states of subjects idle for a whole chunk that no tick reads
        (not flagged, not quiet): the heap holds the subjects in use, not every one met."""
        idle = self._recent - self._touched
        quiet, flagged = self._wakes.quiet, self._flagged
        for token in idle:
            if token in self._states and token not in flagged and token not in quiet:
                self._cold[token] = pickle.dumps(self._states.pop(token), _PROTOCOL)
        self._recent, self._touched = self._touched, set()

    def _thawed(self, token: str) -> SubjectState:
        """A subject's state kept as bytes (back in use), else a new subject's."""
        data = self._cold.pop(token, None)
        if data is None:
            return _EMPTY  # immutable: what a fold makes of it is a new state
        state: SubjectState = pickle.loads(data)  # noqa: S301  # this run's own bytes
        self._states[token] = state
        return state

    def _tick(self, at: datetime) -> None:
        """Re-decide the subjects holding a flag at ``at`` whose dispatch may differ from their
        last (as the live clock tick does for all); the others' rescans would change nothing."""
        last, self._last_tick = self._last_tick, at
        quiet = self._wakes.quiet
        if last is not None and at <= last:  # a chunk that reaches back: wake everyone
            quiet.clear()
        else:
            self._wakes.due(at)
        moment = self._moment(at)
        rescan = self._setup.correlator.rescan
        for token in sorted(t for t in self._flagged if t not in quiet):
            state = self._states[token]
            self._forget_episodes()  # those of earlier dispatches
            step = rescan(token, state, moment)
            self.rescans += 1
            if step.pending or step.state != state:
                self._apply(token, step, at)  # the worker records it
                continue
            self.unrecorded += 1
            if not self._daily:
                self._settle(token, at, step.state, self._episodes())

    def _settle(
        self, token: str, at: datetime, state: SubjectState, episodes: list[_Episodes]
    ) -> None:
        """After a tick's rescan that sent nothing and changed nothing (the worker records
        nothing of it): the subject is quiet until its next instant, every tick before it
        giving the same; with no episodes noted, it is rescanned at the next tick."""
        if episodes:
            self._wakes.put(token, self._instants.wake(at, state, episodes) or _NEVER)

    def _episodes(self) -> list[_Episodes]:
        """The episodes evaluated since the last call (none when they are not noted)."""
        return [] if self._watched is None else self._watched.watched()

    def _forget_episodes(self) -> None:
        """Drop the episodes evaluated since the last call, unread."""
        if self._watched is not None:
            self._watched.forget()

    def _moment(self, at: datetime) -> Moment:
        """The dispatch's moment; its position only where decisions are recorded (a position
        names a decision record: a dispatcher that only counts its decisions reads none)."""
        position = Position(partition=0, offset=self._offset) if self._ledger else None
        return Moment(at, self._setup.evaluator, self._setup.sequence, position=position)

    def _apply(self, token: str, step: Step, at: datetime | None = None) -> None:
        self._states[token] = step.state
        self._touched.add(token)
        if step.state.sent:
            self._flagged.add(token)
        else:
            self._flagged.discard(token)
        month = self._month(at or self._now)
        self._decided[month].update(step.outcomes())  # counted in C
        for pending in step.pending:
            pid = pending.partnership_id
            rule, flag_id, kind = counted(pending.value)  # kept in plain: UnsealedKey
            rule = rule or self._rule_of.get(flag_id, "")
            self._rule_of.setdefault(flag_id, rule)
            self._tally.alert((rule, pid, month), kind, token)


def describe(
    period: Period, policy: Policy, read: int, meta: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What a report says it ran: the period, the agreements, what it read, and ``meta``."""
    return {
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "agreements": policy.value,
        "delivered": 0,
        "read": read,
        **(meta or {}),
    }


_NEVER = datetime.max.replace(tzinfo=UTC)
_EMPTY = SubjectState()
"""A subject met for the first time (one for all: a new state costs a deep copy of defaults)."""
_PROTOCOL = pickle.HIGHEST_PROTOCOL
_Episodes = list[tuple[Rule, Episode]]


def _feed_message(
    value: bytes, key: bytes | None, headers: Headers, source: SourceRef, agency: str
) -> FeedMessage:
    """``FeedMessage(value, key, headers, source, agency)``, made through its slots'
    descriptors (:func:`hub.models.built.slot_setters`: half its ``__init__``'s cost; one is
    made for every event)."""
    message = _new(FeedMessage)
    _set_value(message, value)
    _set_key(message, key)
    _set_headers(message, tuple(headers))
    _set_source(message, source)
    _set_agency(message, agency)
    _set_received(message, None)
    return message


_new = object.__new__
_set_value, _set_key, _set_headers, _set_source, _set_agency, _set_received = slot_setters(
    FeedMessage, "value", "key", "headers", "source", "feed_agency", "received_at"
)


def _watched(dispatcher: Dispatcher) -> WatchedDispatcher | None:
    """The dispatcher that notes episodes, or None: every tick rescans every flagged subject."""
    return dispatcher if isinstance(dispatcher, WatchedDispatcher) else None
