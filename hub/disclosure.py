"""What dispatch decides with and what it produces: state, moments, records, derived ids.

The values :mod:`hub.dispatch` passes around (a subject's :class:`SubjectState`, the
:class:`Moment` of a decision, the :class:`DecisionRecord` the ledger keeps) and the pure
derivations replay shares with it (decision ids, alert revisions, the hub's flag id of a
window, the consents consulted). Everything here is deterministic.
"""

from __future__ import annotations

import hashlib
import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.consent import ConsentLedger
from hub.crypto import HmacKey, HpkePublicKey
from hub.dsa import NO_CONSENT, Clause, ConsentView, Decision, Evaluator, EventFacts
from hub.flags import Contribution, FlagState, SubjectWindow, flag_id, qualifying
from hub.flags.match import severity
from hub.flags.state import revision as flag_revision
from hub.flags.window import floors_json, joined_json
from hub.idkey import IdKey
from hub.models.built import built, slot_setters
from hub.rules import Rule
from hub.sequencer import Pending
from hub.view import Held


@dataclass(frozen=True, slots=True)
class Recipient:
    """A partnership's public encryption key, its pseudonym key and its id key."""

    partnership_id: str
    hpke: HpkePublicKey
    pseudonym_key: HmacKey = field(repr=False)
    ids: IdKey = field(init=False, repr=False, compare=False)
    """The key the partnership's flag and alert ids are derived with (derived once: every
    alert and retraction to the partnership names ids keyed with it)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", IdKey.of(self.pseudonym_key))  # frozen: set once


class SubjectState(BaseModel):
    """One subject's window and, per partnership, the flags it holds and its expiry floors.

    ``held`` maps partnership -> its flag id -> :class:`Held`. ``floors`` maps partnership
    -> rule id -> the earliest start a new flag of P's may have (its own expiry floors, see
    :func:`hub.flags.expire`). ``closed`` counts, per partnership and (rule, first window
    start), the retractions sent: a flag raised again after a retraction gets a new id.
    """

    model_config = ConfigDict(frozen=True)

    window: SubjectWindow = Field(default_factory=SubjectWindow)
    held: Mapping[str, Mapping[str, Held]] = Field(default_factory=dict)
    consent: ConsentLedger = Field(default_factory=ConsentLedger)
    floors: Mapping[str, Mapping[str, AwareDatetime]] = Field(default_factory=dict)
    closed: Mapping[str, Mapping[str, int]] = Field(default_factory=dict)

    @property
    def sent(self) -> bool:
        """Whether any partnership holds a flag about the subject."""
        return any(self.held.values())

    def to_bytes(self) -> bytes:
        """Compact JSON for the state table (remembered: the next read is of these bytes)."""
        # As model_dump_json(), the window's contributions written once each (joined_json),
        # its floors' JSON once per mapping (floors_json) and the other fields' once per set
        # of values (_rest_json): joined in one copy, not one per part.
        window, consent = self.window, self.consent
        joined = joined_json(window.contributions)
        if (
            window.floors
            or self.held
            or self.floors
            or self.closed
            or consent.ends
            or consent.records
        ):
            data = b"".join((_OPENING, joined, b"],", floors_json(window), b",", _rest_json(self)))
        else:  # most states: no floor, no flag, no consent: the one tail of them all
            data = b"".join((_OPENING, joined, _empty_tail()))
        _decoded.keep(data, self)
        return data

    @classmethod
    def from_bytes(cls, data: bytes | None) -> SubjectState:
        """The state stored in the table (an empty one for a new subject).

        Bytes this process wrote (:meth:`to_bytes`) give back the state they were written
        from, without parsing: the state is immutable and its JSON round-trips, so the two
        are the same value. Any other bytes are parsed and validated. A state is remembered
        until it is read (the next one replaces it), so only current states are held.
        """
        if not data:
            return _empty_state()  # immutable: one value serves every new subject
        known = _decoded.take(data)
        return known if known is not None else cls.model_validate_json(data)


def keep_decoded(data: bytes, state: SubjectState) -> None:
    """Remember that ``data`` (read and left unchanged) decodes to ``state``, as
    :meth:`SubjectState.to_bytes` remembers what it writes: the next read of the same bytes
    gives it back without parsing."""
    _decoded.keep(data, state)


def _rest_json(state: SubjectState) -> bytes:
    """``state.model_dump_json(exclude={"window"})`` without its opening brace (the rest of
    the state's JSON after its window's), written once per set of values.

    A state's held flags, consent ledger, floors and retraction counts are immutable and
    mostly carried over unchanged from one state of a subject to the next (only the window
    moves with each event); their JSON is remembered by the identity of the four values
    (held, so that their ids are not reused), bounded, as :func:`hub.flags.window.window_json`
    remembers each contribution's.
    """
    consent = state.consent
    if not (state.held or state.floors or state.closed or consent.records or consent.ends):
        return _empty_rest()  # most subjects: no flag, no floor, no consent
    parts = (state.held, consent, state.floors, state.closed)
    key = tuple(map(id, parts))
    known = _rest.get(key)
    if known is not None and all(map(operator.is_, known[0], parts)):
        return known[1]
    data = state.model_dump_json(exclude={"window"}).encode()[1:]
    if len(_rest) >= _REST_CAPACITY:
        _rest.clear()
    _rest[key] = (parts, data)
    return data


@cache
def _empty_state() -> SubjectState:
    """A new subject's state (built once: validating its defaults costs more than a read)."""
    return SubjectState()


_OPENING = b'{"window":{"contributions":['
"""A state's JSON up to its contributions'."""


@cache
def _empty_tail() -> bytes:
    """A state's JSON after its contributions when its window has no floors and the rest is
    empty (:func:`_empty_rest`): the same for every such state, joined once."""
    return b"],%s,%s" % (floors_json(SubjectWindow()), _empty_rest())


@cache
def _empty_rest() -> bytes:
    """The JSON of empty held flags, consent, floors and counts (the same for every state),
    without its opening brace."""
    return SubjectState().model_dump_json(exclude={"window"}).encode()[1:]


_REST_CAPACITY = 16384
_rest: dict[tuple[int, ...], tuple[tuple[object, ...], bytes]] = {}

STATE_CAPACITY = 16384
"""Subject states remembered by their bytes unless :func:`remember_states` says otherwise
(``HUB_STATE_CAPACITY``): enough for a worker's working set of subjects (a bound on memory and
on what the garbage collector must walk, too; ``docs/operations.md``)."""


S = TypeVar("S")


class DecodedByBytes(Generic[S]):
    """Decoded states by the bytes this process wrote them as, the newest ``capacity`` kept:
    a read of the same bytes takes the state back instead of parsing them (subject states
    here, area states in :mod:`hub.hotspot`). Only a writer keeps; bytes read from a topic
    never enter."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._states: OrderedDict[bytes, S] = OrderedDict()

    def keep(self, data: bytes, state: S) -> None:
        states = self._states
        states[data] = state
        if len(states) > self.capacity:  # once full (one call less per write until then)
            self.trim()

    def trim(self) -> None:
        while len(self._states) > self.capacity:
            self._states.popitem(last=False)  # the oldest (O(1), unlike a dict's first key)

    def take(self, data: bytes) -> S | None:
        return self._states.pop(data, None)


_decoded: DecodedByBytes[SubjectState] = DecodedByBytes(STATE_CAPACITY)


def remember_states(capacity: int) -> None:
    """Remember at most ``capacity`` decoded subject states (the process's setting, at start)."""
    _decoded.capacity = capacity
    _decoded.trim()


class Position(BaseModel):
    """Where in the accepted topic a decision was taken: the record being processed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partition: int
    offset: int


class ConsentConsulted(BaseModel):
    """A consent record the agreements consulted for a decision: its id and state, no token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_id: str
    provider: str
    purpose: str
    status: str
    given_event: str
    ended_event: str | None = None


class FeedMark(BaseModel):
    """How far a consent feed partition had been read for a decision: its next offset."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    partition: int
    offset: int


class ConsentRead(BaseModel):
    """The consent ends a decision was taken under, and how far the feeds had been read.

    ``watermark`` is set when the worker read the consent feeds to their true end before
    the decision (it could disclose on consent): every end below it was applied.
    ``ends`` names every withdrawal or expiry in the subject's consent state, whether it came
    from the accepted topic or straight from a feed (``docs/consent.md``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    watermark: tuple[FeedMark, ...] = ()
    ends: tuple[str, ...] = ()


def consent_read_of(
    ledger: ConsentLedger, watermark: tuple[FeedMark, ...] | None
) -> ConsentRead | None:
    """What a decision record says about consent ends (None when there is nothing to say)."""
    ends = tuple(sorted(end.event_id for end in ledger.ends.values()))
    if watermark is None and not ends:
        return None
    return ConsentRead(watermark=watermark or (), ends=ends)


class DecisionRecord(BaseModel):
    """One disclosure decision for the audit ledger: ids, versions, names and digests only.

    ``position`` (absent in records written before replay existed) is the accepted-topic
    record the decision was taken at; ``consents`` lists the subject's consent records from
    each provider whose events needed consent, with their state at ``decided_at``: a denial
    after a withdrawal names the withdrawal's event. ``flag_id`` is the hub's id of the flag
    decided (over the entry's events); ``recipient_flag_id`` and ``alert_id`` are the ids the
    partnership sees (keyed with its own key): the ledger is the only place that maps one to
    the other.
    """

    model_config = ConfigDict(frozen=True)

    decision_id: str
    decided_at: datetime
    recipient: str
    flag_id: str
    rule_id: str
    rule_version: int
    policy_sequence: int
    outcome: str
    events: tuple[str, ...]
    inputs_digest: str
    decisions: tuple[Decision, ...]
    alert_id: str | None = None
    position: Position | None = None
    consents: tuple[ConsentConsulted, ...] = ()
    severity: str | None = None
    recipient_flag_id: str | None = None
    consent_read: ConsentRead | None = None


class Counted(NamedTuple):
    """A decision as a dispatch that writes no ledger counts it (:attr:`Dispatcher.ledger`)."""

    rule_id: str
    recipient: str
    outcome: str


@dataclass(frozen=True, slots=True, init=False)
class Step:
    """What one dispatch produced: the new state, alerts to number, decisions to record.

    A dispatcher that writes no ledger (a backtest's) leaves ``decisions`` empty and gives
    each decision's rule, partnership and outcome in ``counted`` instead.

    One per event: its ``__init__`` sets the fields through the class's slot descriptors
    (:func:`hub.models.built.slot_setters`; 0.63 → 0.41 µs, the same value: tests).
    """

    state: SubjectState
    pending: tuple[Pending, ...]
    decisions: tuple[DecisionRecord, ...]
    counted: tuple[Counted, ...] = ()

    def __init__(
        self,
        state: SubjectState,
        pending: tuple[Pending, ...],
        decisions: tuple[DecisionRecord, ...],
        counted: tuple[Counted, ...] = (),
    ) -> None:
        _set_state(self, state)
        _set_pending(self, pending)
        _set_decisions(self, decisions)
        _set_counted(self, counted)

    def outcomes(self) -> Iterator[tuple[str, str, str]]:
        """Each decision's (rule, partnership, outcome): from its records or its counts."""
        for record in self.decisions:
            yield record.rule_id, record.recipient, record.outcome
        yield from self.counted


_set_state, _set_pending, _set_decisions, _set_counted = slot_setters(
    Step, "state", "pending", "decisions", "counted"
)


@dataclass(frozen=True, slots=True)
class Moment:
    """When and under what a dispatch decides: time, agreements, their sequence, consent.

    ``position`` is the accepted-topic record being processed, recorded with each decision.
    """

    at: datetime
    policy: Evaluator
    policy_sequence: int
    consent: ConsentView = NO_CONSENT
    position: Position | None = None
    watermark: tuple[FeedMark, ...] | None = None
    """The consent feeds' read positions, when they were read to their end for this moment."""


@dataclass(frozen=True, slots=True, init=False)
class Trigger:
    """What caused a dispatch, to say which partnerships it decides.

    ``event_id``: a new (or redelivered) contributing event; only partnerships that may see it
    are decided. ``consent_before``: the consent ledger before a consent event; only
    partnerships whose visible events it changes are decided. Neither (a clock tick, an
    agreement switch): every partnership is decided.

    One per event: built through its slot descriptors, as :class:`Step`.
    """

    event_id: str | None = None
    consent_before: ConsentLedger | None = None

    def __init__(
        self, event_id: str | None = None, consent_before: ConsentLedger | None = None
    ) -> None:
        _set_event_id(self, event_id)
        _set_consent_before(self, consent_before)


_set_event_id, _set_consent_before = slot_setters(Trigger, "event_id", "consent_before")


EVERYONE = Trigger()


def event_facts(c: Contribution, token: str) -> EventFacts:
    """What the agreements engine decides on for one contributing event of a subject."""
    # A contribution's values are validated already; the token is the subject's table key.
    return built(
        EventFacts,
        {
            "event_id": c.event_id,
            "agency_id": c.agency_id,
            "event_type": c.event_type,
            "occurred_at": c.occurred_at,
            "council": c.council,
            "age": c.age,
            "subject_token": token,
            "lsoa": c.lsoa,
            "fields": c.fields,
        },
    )


def inputs_digest(flag: tuple[str, str], events: tuple[str, ...], policy_sequence: int) -> str:
    """The inputs digest of a flag's decisions: the flag's (id, revision), its events and the
    agreement sequence; the same for every partnership and position deciding the flag."""
    return _digest("inputs", *flag, *events, str(policy_sequence))


def decision_ids(
    flag: tuple[str, str],
    events: tuple[str, ...],
    partnership_id: str,
    moment: Moment,
    inputs: str | None = None,
) -> tuple[str, str]:
    """The decision id and the inputs digest of one flag's decision for one partnership.

    ``flag`` is the flag's (id, revision); ``inputs``, when given, its
    :func:`inputs_digest` for these events at the moment's sequence (computed once per flag).

    Both derive from the decision's inputs only (flag revision, events, agreement sequence,
    time, stream position), so a redelivery reproduces them and a replay can recompute them.
    """
    if inputs is None:
        inputs = inputs_digest(flag, events, moment.policy_sequence)
    decision_id = _digest("decision", inputs, partnership_id, *_when_and_where(moment))
    return decision_id, inputs


def _when_and_where(moment: Moment) -> tuple[str, ...]:
    """A moment's time and position as decision ids name them, written once per moment (the
    last one's kept: a dispatch records many decisions at one moment)."""
    if _MOMENT[0] is not moment:
        position = moment.position
        where = () if position is None else (f"{position.partition}:{position.offset}",)
        _MOMENT[:] = [moment, (moment.at.isoformat(), *where)]
    texts: tuple[str, ...] = _MOMENT[1]
    return texts


_MOMENT: list[Any] = [None, ()]


def consents_consulted(
    ledger: ConsentLedger,
    token: str,
    at: datetime,
    members: Sequence[Contribution],
    decisions: Sequence[Decision],
) -> tuple[ConsentConsulted, ...]:
    """The subject's consent records from each provider whose events needed consent, at ``at``."""
    if not ledger.records:
        return ()  # most subjects: no consent record to name, whatever the decisions asked
    providers = {
        c.agency_id for c, d in zip(members, decisions, strict=True) if _asks_consent(d.clauses)
    }
    if not providers:
        return ()
    found = []
    for record in ledger.for_subject(token):
        status = record.status_at(at)
        if record.provider not in providers or status is None:
            continue
        ended = (
            record.end_event_id if record.ended_at is not None and at >= record.ended_at else None
        )
        found.append(
            ConsentConsulted(
                consent_id=record.consent_id,
                provider=record.provider,
                purpose=str(record.purpose),
                status=str(status),
                given_event=record.event_id,
                ended_event=ended,
            )
        )
    return tuple(found)


def alert_revision(flag_revision: str, partnership_id: str, visible: Iterable[str]) -> str:
    """The revision of what a partnership is told of a flag: the flag's, and its events."""
    return _digest("alert-revision", flag_revision, partnership_id, *sorted(visible))


def hub_flag(rule: Rule, token: str, members: Sequence[Contribution]) -> tuple[str, str, str]:
    """The hub's (flag id, revision, severity) of a rule over one window's members."""
    labelled = qualifying(rule, members)
    level = severity(rule, labelled)
    ids = frozenset(c.event_id for c in members)
    return (
        flag_id(rule.id, token, members[0].occurred_at),
        flag_revision(rule.version, level, ids),
        str(level),
    )


def material(previous: Held, flag: FlagState, members: Sequence[Contribution]) -> bool:
    """Whether a held flag changed in a way its partnership's duty team acts on.

    Its severity, its window (a late event moved the start), the agencies to ask, or an event
    it was told of that no longer counts. Another event from an agency already named, at the
    same severity, waits for the next material change (or is seen in the flag's next update).
    """
    if str(flag.severity) != previous.severity:
        return True
    if flag.window_start != previous.start or flag.window_end != previous.end:
        return True
    if not flag.event_ids.issuperset(previous.events):
        return True
    return {c.agency_id for c in members} != set(previous.ask)


def anchor_key(rule_id: str, anchor: datetime) -> str:
    """The key of :attr:`SubjectState.closed` for a flag first raised at ``anchor``."""
    return f"{rule_id}|{round(anchor.timestamp() * 1000)}"


def _asks_consent(clauses: tuple[Clause, ...]) -> bool:
    """Whether a decision's clauses include a consent clause, known per clauses tuple: the
    evaluator shares one tuple between every copy of a remembered decision."""
    known = _CONSENT_CLAUSES.get(id(clauses))
    if known is None or known[0] is not clauses:
        known = (clauses, any(c.clause == "consent" for c in clauses))
        if len(_CONSENT_CLAUSES) >= _CONSENT_CLAUSES_MAX:
            _CONSENT_CLAUSES.clear()
        _CONSENT_CLAUSES[id(clauses)] = known
    return known[1]


_CONSENT_CLAUSES: dict[int, tuple[tuple[Clause, ...], bool]] = {}
"""Per clauses tuple (by id, the tuple kept so the id cannot be reused while cached)."""
_CONSENT_CLAUSES_MAX = 16_384


def _digest(domain: str, *parts: str) -> str:
    text = "\x00".join(parts)
    return hashlib.sha256(f"vru-hub/{domain}/v1\x00{text}".encode()).hexdigest()[:32]
