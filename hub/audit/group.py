"""Replay's grouped lane: the entries of one dispatch checked as a group.

The live path dispatches a flag at a stream position to every partnership, and writes one
entry per partnership, near each other in the ledger. Nearly all of them are *quiet denials*:
a partnership denied a flag it was never told of, so the record names no alert, no flag id of
the partnership and no consent record. Such entries share everything but four things:

- **shared** (per group: the position, the flag's text from its id to its decisions, and the
  consent read the entries write): the time and position, the flag (events, rule, flag id,
  severity), the agreement sequence, the inputs digest, the consent state and the consent
  read. :class:`Dispatch` holds them, derived once from the group's question (read from the
  first entry's bytes, never its outcome) as the fast lane derives them
  (``Rederiver.basis``, :meth:`Lane.place <hub.audit.lane.Lane.place>`,
  :meth:`Lane.flag_parts <hub.audit.lane.Lane.flag_parts>`), written as bytes once;
- **per entry**: the recipient, the engine's decisions for it (:meth:`Lane.outcomes
  <hub.audit.lane.Lane.outcomes>`, remembered per event class, interval and partnership; for
  a subject without consent records, per the flag's classes, interval and partnership too)
  and whether the rule holds on the events it may see (asked of :meth:`Lane.verdict
  <hub.audit.lane.Lane.verdict>` when any decision permits), the decision id (one SHA-256)
  and the record's bytes (the decisions' from their form, :attr:`_Said.form`).

An entry is counted here only when its own bytes, whole, are the record re-derived for the
question they show: the group is found by the entry's own time, flag text and consent
read (a key only: what the entry is compared with is the group's derivation, never a
sibling's bytes), and the expected bytes (shared parts included) are compared with the entry's
bytes in one comparison. So an entry whose shared part differs from its siblings' (another
event, rule, time, position, digest or consent read) finds another group, or none, and never
the expected bytes: it takes the fast lane and then the full path, which names each
difference (``tests/unit/audit/test_group.py`` changes one entry of a group in each shared
field). A permit, a denial that names consent records, and a denial that may be a retraction
(the partnership holds a flag of exactly these events) take the lane too.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from binascii import hexlify
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from hub.audit.answer import Pieces
from hub.audit.ids import decision_text
from hub.audit.lane import Lane
from hub.audit.question import Question, flag_fields, read_fields
from hub.audit.rederive import Basis, Rederiver, UnreplayableError
from hub.audit.verdict import Place
from hub.dispatch import consent_read_of
from hub.dsa import Decision

_ID_HEAD = b'{"decision_id":"'
_ID_END = len(_ID_HEAD) + 32
_AT_HEAD = b'","decided_at":"'
_AT_BEFORE = b'","decided_at":'
"""What precedes the time (whose bytes open with their quote: ``Place.text``)."""
_TIME_AT = _ID_END + len(_AT_HEAD)
_RECIPIENT = b',"recipient":"'
_DECISIONS = b',"decisions":['
_QUIET_HEAD = b'],"alert_id":null,"position":'
_TAIL = _QUIET_HEAD + b'{"partition":'
_POSITION_AT = len(_QUIET_HEAD)
_CONSENTS = b'},"consents":[],"severity":'
_READ = b',"recipient_flag_id":null,"consent_read":'
_NULL_READ = _READ + b"null}"
_POSITION = re.compile(rb'\{"partition":([0-9]{1,9}),"offset":([0-9]{1,18})\}')
_GROUPS_MAX = 4_096
"""Groups kept (a dispatch's entries are adjacent in the ledger: the memo is a window)."""
_VERDICTS_MAX = 16_384
"""Verdicts kept (per event classes, interval and partnership; per decisions) before either
memo is cleared."""
_CLASSES_MAX = 64
"""Flags of more events than this are not remembered by their classes: a remembered value
holds a decision and its bytes per event (up to about 1 kB each), so the memos of
:data:`_VERDICTS_MAX` entries stay in the megabytes (a flag id of 16 KiB names about 420
events: with no cap, about 7 GiB at the bounds)."""
_TIME_MAX = 40
_RECIPIENT_MAX = 64
_FLAG_MAX = 16_384
_READ_MAX = 1_024
"""The longest time, recipient, flag text and consent read an entry may show to be grouped:
the memos' keys hold them, so a hostile ledger of megabyte entries would otherwise keep
gigabytes (longer entries take the lane, which names them or re-derives them as before)."""

Counted = tuple[
    tuple[str, str, bool], tuple[str, ...], tuple[tuple[Decision, ...], tuple[int, ...]]
]
"""What the summary counts of an entry (:meth:`hub.audit.tally.Tally.count`'s arguments)."""
_MISSING: Any = object()
_Key = tuple[bytes, bytes, bytes]
"""(the time's text, the flag's bytes from its id to its decisions, the consent read's): a
key only, which the entries of one dispatch share (the group is derived from the position of
the first entry of its key; an entry at another position with the same key is not its
bytes, and takes the lane)."""


@dataclass(frozen=True, slots=True)
class Dispatch:
    """What every quiet denial of one dispatch shares, derived once, as bytes."""

    place: Place
    basis: Basis
    head: bytes
    """The record from the end of its decision id to its recipient (its time)."""
    middle: bytes
    """The record from the end of its recipient to the opening of its decisions."""
    end: bytes
    """The record after its decisions (position, severity, consent read)."""
    hashed: bytes
    """What the decision id hashes before the partnership (domain, inputs digest)."""
    placed: bytes
    """What the decision id hashes after the partnership (time and position)."""
    classes: tuple[int, ...]
    """The flag's events' classes at the sequence (:meth:`Lane.classes
    <hub.audit.lane.Lane.classes>`: each number names its sequence too)."""
    unconsented: bool
    """Whether the subject has no consent record (then a partnership's decisions rest on the
    classes, the interval of the book and the partnership only: :meth:`Dispatches._said`)."""
    stamps: tuple[bytes, ...]
    """The flag's event ids as the decisions write them (JSON strings), each followed by
    the time as they write it (with its opening quote): what a decisions' form is filled
    with (:attr:`_Said.form`)."""


@dataclass(frozen=True, slots=True)
class _Said:
    """The engine's decisions on a flag's events for one partnership, as a quiet denial
    writes them: shared by every flag whose events have the same classes (and interval),
    and by every flag given the same decisions."""

    outcomes: tuple[Decision, ...]
    ids: tuple[int, ...]
    """The decisions' identities (held here, so they stay theirs)."""
    permits: bool
    """Whether any decision permits (then whether the rule holds decides: the lane's)."""
    consulting: bool
    """Whether any decision has a consent clause."""
    form: bytes | None
    """The decisions' bytes as :meth:`Forms.decisions_bytes
    <hub.audit.answer.Forms.decisions_bytes>` writes them, joined with commas, with ``%s``
    for each event id and each time (and ``%`` written ``%%``): ``form % stamps`` is them for
    a flag's events at a time (:attr:`Dispatch.stamps`). None when a decision is written
    whole (:meth:`Forms.pieces <hub.audit.answer.Forms.pieces>`)."""


def _cut(value: bytes) -> tuple[bytes, _Key] | None:
    """An entry's recipient (its text between quotes) and its group's key, when it is laid
    out as a quiet denial (else None)."""
    if not value.startswith(_ID_HEAD) or not value.startswith(_AT_HEAD, _ID_END):
        return None  # a decision id is 32 hex digits: its end is found without a search
    at_end = value.find(b'"', _TIME_AT)
    if not value.startswith(_RECIPIENT, at_end + 1):
        return None
    start = at_end + 1 + len(_RECIPIENT)
    flag = value.find(b'"', start) + 1
    opened = value.find(_DECISIONS, flag) + len(_DECISIONS)
    if value.endswith(_NULL_READ):  # most entries: no consent read (the last such field)
        read = b"null"
    else:
        read_at = value.rfind(_READ)
        read = value[read_at + len(_READ) : -1]
        if read_at < opened:
            return None
    if not start < flag < opened:
        return None
    if (
        at_end - _TIME_AT > _TIME_MAX
        or flag - start > _RECIPIENT_MAX
        or opened - flag > _FLAG_MAX
        or len(read) > _READ_MAX
    ):
        return None  # too long to be a key (see _FLAG_MAX)
    return value[start : flag - 1], (value[_TIME_AT:at_end], value[flag:opened], read)


def _where(value: bytes) -> bytes | None:
    """The position of an entry laid out as a quiet denial, as it writes it."""
    tail = value.rfind(_TAIL)
    ends = value.find(_CONSENTS, tail)
    return value[tail + _POSITION_AT : ends + 1] if 0 < tail < ends else None


@lru_cache(maxsize=1024)
def _end(where: bytes, severity: str | None, read: bytes | None) -> bytes:
    """A quiet denial's bytes after its decisions."""
    return b"".join(
        (
            _QUIET_HEAD,
            where,
            _CONSENTS[1:],
            orjson.dumps(severity),
            _READ,
            b"null" if read is None else read,
            b"}",
        )
    )


def _form(pieces: Pieces) -> bytes:
    """A decision's bytes with ``%s`` for its event id and its time (:attr:`_Said.form`)."""
    head, middle, tail = (p.replace(b"%", b"%%") for p in pieces)
    return b"%s".join((head, middle, tail))


_Decided = tuple[Decision, bytes | None, bool, bool]
"""A decision, its form (None: written whole), whether it permits, whether it has a consent
clause."""


class Dispatches:
    """Quiet denials checked a dispatch at a time (see the module doc)."""

    def __init__(self, lane: Lane, rederiver: Rederiver) -> None:
        self._lane = lane
        self._rederiver = rederiver
        self._live = rederiver.held.live
        self._keyed = lane.keyed
        self._groups: dict[_Key, Dispatch | None] = {}
        self._forms = lane.forms
        self._said: dict[tuple[tuple[int, ...], int, str], _Said] = {}
        """Per the flag's event classes, the interval of the book and the partnership, for
        subjects without consent records."""
        self._written: dict[tuple[int, ...], _Said] = {}
        """Per decisions (their identities)."""
        self._decisions: dict[int, _Decided] = {}
        """Per decision (its identity, held)."""
        self.hits = 0
        """Entries counted here (by the replayer)."""
        self.groups = 0
        """Groups derived (each from the first entry of its key)."""

    def check(self, value: bytes) -> tuple[bytes, datetime, Counted] | None:
        """The entry's decision id (ASCII) and time, and what the summary counts of it, when
        its bytes are the quiet denial re-derived for it; None otherwise (then nothing is
        changed, and the entry takes the lane)."""
        cut = _cut(value)
        if cut is None:
            return None
        recipient, key = cut
        group = self._groups.get(key, _MISSING)
        if group is _MISSING:
            group = self._group(key, _where(value))
        if group is None:
            return None
        try:
            pid = recipient.decode()
        except UnicodeDecodeError:
            return None
        found = self._expected(group, pid, recipient)
        if found is None or found[1] != value:
            return None
        decision_id, _, counted = found
        return decision_id, group.place.at, counted

    def _expected(
        self, group: Dispatch, pid: str, recipient: bytes
    ) -> tuple[bytes, bytes, Counted] | None:
        """The quiet denial re-derived for the partnership in the group: its decision id,
        its bytes and what the summary counts; None when it is no quiet denial."""
        basis, place = group.basis, group.place
        said = self._said_of(group, pid)
        if said is None:
            return None  # a permit, or consent records named: the lane writes them
        if pid in self._keyed:
            live = self._live.get((pid, basis.token, basis.rule.id))
            if live and any(flag.events == basis.ids for flag in live.values()):
                return None  # may be a retraction: the lane writes its ids
        decision_id = hexlify(
            hashlib.sha256(b"".join((group.hashed, recipient, group.placed))).digest()[:16]
        )
        form = said.form
        if form is None:  # a decision written whole
            decisions = b",".join(
                self._forms.decisions_bytes(said.outcomes, basis.events, place.at)
            )
        else:  # as Forms.decisions_bytes writes them, joined with commas
            decisions = form % group.stamps
        written = b"".join(
            (
                _ID_HEAD,
                decision_id,
                group.head,
                orjson.dumps(pid),
                group.middle,
                decisions,
                group.end,
            )
        )
        counted = (("deny", pid, False), basis.agencies, (said.outcomes, said.ids))
        return decision_id, written, counted

    def _said_of(self, group: Dispatch, pid: str) -> _Said | None:
        """The partnership's decisions on the group's flag (:meth:`Lane.verdict
        <hub.audit.lane.Lane.verdict>`); None when they permit it, or name consent records.

        For a subject without consent records they are remembered per what they rest on:
        the flag's event classes (each naming its agreement sequence), the interval of the
        book and the partnership (the engine decides each event per its class, interval and
        partnership: ``test_lane.py``), so another flag whose events have the same classes
        finds them; whether the rule holds on the events permitted is the flag's own, asked
        of the lane whenever any decision permits. With consent records, the lane remembers
        decisions per the ledger's answers."""
        basis, place, lane = group.basis, group.place, self._lane
        remember = len(group.classes) <= _CLASSES_MAX
        if group.unconsented:
            key = (group.classes, place.slot, pid)
            said = self._said.get(key) if remember else None
            if said is None:
                said = self._said_for(lane.outcomes(basis, place, pid, group.classes), remember)
                if remember:
                    if len(self._said) >= _VERDICTS_MAX:
                        self._said.clear()
                    self._said[key] = said
        else:
            said = self._said_for(lane.outcomes(basis, place, pid, group.classes), remember)
            if said.consulting:
                return None  # consent records named
        if said.permits and lane.verdict(basis, place, pid, group.classes).permit:
            return None
        return said

    def _said_for(self, outcomes: tuple[Decision, ...], remember: bool) -> _Said:
        """Decisions with what a quiet denial writes of them (remembered per their
        identities, held, unless ``remember`` is false: a flag of more than
        :data:`_CLASSES_MAX` events)."""
        ids = tuple(map(id, outcomes))
        said = self._written.get(ids) if remember else None
        if said is None:
            each = [self._decision(d) for d in outcomes]
            forms = [e[1] for e in each]
            if remember and len(self._written) >= _VERDICTS_MAX:
                self._written.clear()
            said = _Said(
                outcomes=outcomes,
                ids=ids,
                permits=any(e[2] for e in each),
                consulting=any(e[3] for e in each),
                form=None if None in forms else b",".join(forms),  # type: ignore[arg-type]
            )
            if remember:
                self._written[ids] = said
        return said

    def _decision(self, decision: Decision) -> _Decided:
        """A decision's form (:attr:`_Said.form`'s part), whether it permits and whether
        it has a consent clause (remembered per decision, held)."""
        known = self._decisions.get(id(decision))
        if known is None or known[0] is not decision:
            pieces = self._forms.pieces(decision)
            if len(self._decisions) >= _VERDICTS_MAX:
                self._decisions.clear()
            known = self._decisions[id(decision)] = (
                decision,
                None if pieces is None else _form(pieces),
                decision.permitted,
                self._rederiver.consulting((decision,)),
            )
        return known

    def _group(self, key: _Key, where: bytes | None) -> Dispatch | None:
        """The group of a key (None: its entries take the lane), derived from the question
        its bytes show (their flag, position and consent read; no recipient)."""
        group = None
        _, flag, read = key
        found = None if where is None else _POSITION.fullmatch(where)
        place = None if found is None else self._lane.place(int(found[1]), int(found[2]))
        fields, marks = flag_fields(flag), read_fields(read)
        if place is not None and fields is not None and marks is not None:
            rule_id, events = fields
            question = Question("", "", rule_id, events, place.position, *marks)
            try:
                basis = self._rederiver.basis(question)
            except UnreplayableError:
                basis = None
            if basis is not None:
                group = self._dispatch(basis, place, question)
        if len(self._groups) >= _GROUPS_MAX:
            self._groups.clear()
        self._groups[key] = group
        self.groups += 1
        return group

    def _dispatch(self, basis: Basis, place: Place, question: Question) -> Dispatch:
        self._rederiver.held.subjects.add(basis.token)
        ledger = basis.consent
        read = (
            None
            if question.watermark is None and not ledger.ends
            else consent_read_of(ledger, question.watermark)
        )
        written = None if read is None else read.__pydantic_serializer__.to_json(read)
        flag_part, events_part = self._lane.flag_parts(basis)
        return Dispatch(
            place=place,
            basis=basis,
            head=b"".join((_AT_BEFORE, place.text, b'",', _RECIPIENT[1:-1])),
            middle=b"".join((flag_part, b'"deny"', events_part)),
            end=_end(place.where_json, basis.severity, written),
            hashed=decision_text(basis.inputs, "")[:-1],
            placed=b"\x00" + place.hashed,
            classes=self._lane.classes(basis),
            unconsented=not ledger.records,
            stamps=tuple(
                itertools.chain.from_iterable((orjson.dumps(e), place.text) for e in basis.events)
            ),
        )
