"""Replay's stamped lane: an entry checked against a quiet denial's bytes with holes.

Nearly every ledger entry is a *quiet denial*: a partnership denied a flag it was never told
of, so the record names no alert, no flag id of the partnership and no consent record. Such
an entry's bytes are the same for every position that asks the same question under the same
conditions, but for three holes: the decision id, the time (once as ``decided_at`` and once
in each event's decision) and the position. :class:`Stamps` keeps those bytes, cut at the
holes (:class:`~hub.audit.lane.Stamp`), per

- the question but its position: the entry's bytes from its recipient to its decisions
  (recipient, rule and events; the flag's own fields with them) and its ``consent_read``;
- the position's agreement sequence and interval of the agreement book
  (:meth:`hub.audit.lane.Lane.place`);
- the subject's consent state at the position as the agreements engine can see it: for each
  consent record live at the decision time, its id, the time it was given, its purpose,
  provider and recipients, in the order the ledger answers from (or none: no record at all),
  and the ``consent_read`` the record must write.

The engine's decisions, whether the rule holds on the events permitted, the inputs digest,
the flag's fields and whether any decision consulted consent are functions of these (the
fast lane remembers its own parts per the same inputs or fewer: :mod:`hub.audit.lane`).
What varies per entry is computed per entry: the time and position's own bytes (per
position), the decision id (one SHA-256), and whether the partnership holds a flag of the
subject under the rule (then a denial may be a retraction, and the entry takes the lane).

A stamp is made from the fast lane's own parts (verdict, decision bytes, flag fields) for
the first entry of its key, never from an entry's bytes; that its holes filled with an
entry's id, time and position give the lane's bytes is what ``tests/unit/audit/test_lane.py``
checks over the bench's histories (no run-time check). An entry is counted here only when its
bytes are exactly the stamp filled with the id, time and position re-derived for it; any
other entry takes the lane and then the full path, as before. The question is read from the
bytes without parsing them, so it is only a guess until the bytes are found equal: the
stamp's bytes are laid out as ``model_dump_json`` lays out a record, and on them the guess
is the question a parse reads (as for :func:`hub.audit.question.written_question`).
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

from hub.audit.ids import decision_text
from hub.audit.lane import Lane
from hub.audit.question import Question, middle_fields, read_fields
from hub.audit.rederive import Basis, Rederiver, UnreplayableError
from hub.audit.tally import Tallied
from hub.audit.verdict import Place, Verdict
from hub.dispatch import FeedMark, consent_read_of

_ID_HEAD = b'{"decision_id":"'
_ID_END = len(_ID_HEAD) + 32
_AT_HEAD = b'","decided_at":"'
_AT_BEFORE = b'","decided_at":'
"""What precedes the time (whose bytes open with their quote: ``Place.text``)."""
_DECISIONS = b',"decisions":['
_QUIET_HEAD = b'],"alert_id":null,"position":'
_TAIL = _QUIET_HEAD + b'{"partition":'
_POSITION_AT = len(_QUIET_HEAD)
_CONSENTS = b'},"consents":[],"severity":'
_READ = b',"recipient_flag_id":null,"consent_read":'
_NULL_READ = _READ + b"null}"
_POSITION = re.compile(rb'\{"partition":([0-9]{1,9}),"offset":([0-9]{1,18})\}')
_MEMO_MAX = 8_192
"""Entries per memo. A key's entries lie near each other in the ledger: 8,192 kept every
stamp hit of 65,536 on the bench's history (95,009 of 100,014, counted by ``replay15``), with
145 MB less peak memory in ``bench_replay 100000`` (docs/benchmarks.md)."""
_NEVER = object()
"""A key whose entries are never quiet denials (permits, or decisions that consulted
consent): they take the lane."""


@dataclass(slots=True, eq=False)
class _Asked:
    """An entry's question but its position, numbered (and its flag's inputs numbered).

    Not frozen (one is built per question text met, and a frozen one costs a call per field
    to build); never changed once built."""

    number: int
    recipient: str
    rule_id: str
    events: tuple[str, ...]
    ends: tuple[str, ...]
    watermark: tuple[FeedMark, ...] | None
    flag: int
    """The events, rule, ends and watermark, numbered (what the consent state rests on)."""


_State = tuple[int, bytes | None, Basis | None]
"""A consent state, numbered (-1: the entry's dispatch cannot be re-derived), the consent
read it makes a record write (None: none), and the dispatch's inputs it was read from (kept
for the stamps made at that position: :meth:`Stamps._stamp`)."""
_UNREPLAYABLE: _State = (-1, None, None)
_Key = tuple[int, int, int, int]
"""(the question, numbered; the agreement sequence; the interval of the book; the consent
state, numbered)."""


def _cut(value: bytes) -> tuple[bytes, bytes, bytes] | None:
    """An entry's bytes from its recipient to the opening of its decisions, its consent
    read and its position, when it is laid out as a quiet denial (else None)."""
    if not value.startswith(_ID_HEAD):
        return None
    id_end = _ID_END  # a decision id is 32 hex digits: its end is found without a search
    if not value.startswith(_AT_HEAD, id_end):
        id_end = value.find(b'"', len(_ID_HEAD))
        if not value.startswith(_AT_HEAD, id_end):
            return None
    middle_at = value.find(b'"', id_end + len(_AT_HEAD)) + 1
    # the decisions open at the first "[{" (nothing before them holds one but a string,
    # and then the fields up to it are not a record's: no stamp is found for them)
    opened = value.find(b"[{", middle_at)
    decisions = opened + 1 - len(_DECISIONS)
    if opened < 0 or not value.startswith(_DECISIONS, decisions):
        return None
    tail = value.rfind(_TAIL)
    if value.endswith(_NULL_READ):  # most entries: no consent read (the last such field)
        read_at, read = len(value) - len(_NULL_READ), b"null"
    else:
        read_at = value.rfind(_READ)
        read = value[read_at + len(_READ) : -1]
    ends = value.find(_CONSENTS, tail)
    if not 0 < middle_at < decisions < tail < ends < read_at:
        return None
    return (
        value[middle_at : decisions + len(_DECISIONS)],
        read,
        value[tail + _POSITION_AT : ends + 1],
    )


@dataclass(slots=True, eq=False)
class Stamp:
    """A quiet denial's bytes with three holes: decision id, time and position
    (:func:`stamp_of`).

    Made from the parts :meth:`Lane.expect <hub.audit.lane.Lane.expect>` joins (never from
    an entry's bytes): filled with an entry's decision id, time and position
    (:meth:`bytes_at`), they are the bytes the lane writes for it
    (``tests/unit/audit/test_lane.py`` checks it on every entry of a history).

    Not frozen (one is built per key met: a frozen one costs a call per field to build);
    never changed once built, and told apart by identity.
    """

    parts: tuple[bytes, ...]
    """The record from the end of its time to the position, cut at each decision's time."""
    end: bytes
    """The record after its position."""
    hashed: bytes
    """The decision id's hashed text before the time (domain, inputs digest, partnership)."""
    hasher: Any
    """A SHA-256 that has hashed :attr:`hashed` (copied per entry: :func:`decision_of`)."""
    held: tuple[str, str, str] | None
    """(partnership, subject, rule): where replay keeps the flags the partnership holds
    (None: replay holds no id key of the partnership, and no denial of it is a retraction)."""
    ids: frozenset[str]
    """The flag's event ids: a denial is a retraction when the partnership holds a flag of
    exactly these events (:meth:`hub.audit.held.Held.deny`)."""
    tallied: Tallied
    """What the summary counts of each of its entries (:meth:`hub.audit.tally.Tally.stamp`):
    one object per value among the stamps of a replay (:meth:`Stamps._stamp`), so that the
    tally, which counts by identity, holds these small values and never a stamp's bytes."""

    @classmethod
    def of(
        cls,
        basis: Basis,
        pid: str,
        verdict: Verdict,
        flag: tuple[bytes, bytes],
        read: tuple[bytes | None, bool],
    ) -> Stamp:
        """The stamp of a quiet denial (``read``: its consent read's bytes, and whether
        replay holds the partnership's id key), cut where the lane joins its parts."""
        chunks = list(verdict.chunks or ())
        flag_part, events_part = flag
        chunks[0] = b"".join(
            (b'","recipient":', orjson.dumps(pid), flag_part, b'"deny"', events_part, chunks[0])
        )
        chunks[-1] += _QUIET_HEAD
        written, keyed = read
        hashed = decision_text(basis.inputs, pid)
        return cls(
            parts=(b"", *chunks),
            end=_end(basis.severity, written),
            hashed=hashed,
            hasher=hashlib.sha256(hashed),
            held=(pid, basis.token, basis.rule.id) if keyed else None,
            ids=basis.ids,
            tallied=Tallied(("deny", pid, False), basis.agencies, (verdict.outcomes, verdict.ids)),
        )

    def bytes_at(self, decision_id: bytes, place: Place) -> bytes:
        """The record's bytes with this decision id (ASCII), at this place."""
        return b"".join(
            (
                _ID_HEAD,
                decision_id,
                _AT_BEFORE,
                place.text.join(self.parts),
                place.where_json,
                self.end,
            )
        )


@lru_cache(maxsize=1024)
def _end(severity: str | None, read: bytes | None) -> bytes:
    """A quiet denial's bytes after its position (few: severities and consent reads)."""
    return b"".join(
        (
            b',"consents":[],"severity":',
            orjson.dumps(severity),
            b',"recipient_flag_id":null,"consent_read":',
            b"null" if read is None else read,
            b"}",
        )
    )


def stamp_of(
    lane: Lane, basis: Basis, pid: str, verdict: Verdict, read: bytes | None
) -> Stamp | None:
    """The :class:`Stamp` of the partnership's entries on the basis's flag with this verdict
    and consent read (``read``: its bytes, None when the record has none), when they are
    quiet denials: None for a permit, a decision that consulted the consent records of a
    subject that has some, or decisions that cannot be cut at their time."""
    consulted = verdict.consulting and basis.consent.records  # else none is named
    if verdict.permit or consulted or not lane.decisions(basis, verdict):
        return None
    if not verdict.chunks:  # known once the lane made them: they could not be cut at their time
        return None
    keyed = pid in lane.keyed
    return Stamp.of(basis, pid, verdict, lane.flag_parts(basis), (read, keyed))


class Stamps:
    """Quiet denials checked against stamps (see the module doc)."""

    def __init__(self, lane: Lane, rederiver: Rederiver) -> None:
        self._lane = lane
        self._rederiver = rederiver
        self._live = rederiver.held.live
        self._asked: dict[tuple[bytes, bytes], _Asked | None] = {}
        self._places: dict[bytes, Place | None] = {}
        self._states: dict[tuple[bytes, int], _State] = {}
        """The consent state, numbered, and the consent read it makes the record write, per
        position and flag."""
        self._stamps: dict[_Key, Stamp | object] = {}
        self._numbers: dict[object, int] = {}
        """Flags' inputs and consent states met, numbered (numbers are never reused, so a
        memo cleared never makes a stamp found under another value's number)."""
        self._counter = itertools.count()
        self._tallied: dict[tuple[object, ...], Tallied] = {}
        """What stamps count, one object per value (as many as the tally's kinds of entry)."""
        self.hits = 0
        """Entries counted here (by the replayer)."""

    def check(self, value: bytes) -> tuple[bytes, datetime, Stamp] | None:
        """The entry's decision id and time and its stamp when its bytes are the stamp's
        filled for it; None otherwise (then nothing is changed).

        Every entry comes here (the per-entry path): the lookups are written out in line,
        each memo read once, the question, place, state and stamp made on a miss
        (:meth:`_question`, :meth:`_place`, :meth:`_state`, :meth:`_stamp`).
        """
        cut = _cut(value)
        if cut is None:
            return None
        middle, read, where = cut
        asked = self._asked.get((middle, read), _NEVER)
        if asked is _NEVER:
            asked = self._question(middle, read)
        place = self._places.get(where, _NEVER)
        if place is _NEVER:
            place = self._place(where)
        if not isinstance(asked, _Asked) or not isinstance(place, Place):
            return None
        state = self._states.get((where, asked.flag))
        if state is None:
            state = self._state(where, place, asked)
        key = (asked.number, place.sequence, place.slot, state[0])
        stamp = self._stamps.get(key)
        if stamp is None:
            stamp = self._stamp(key, place, asked, state)
        if not isinstance(stamp, Stamp):
            return None
        held = stamp.held
        if held is not None:
            live = self._live.get(held)  # the entry may be a retraction: the lane writes its ids
            if live and any(flag.events == stamp.ids for flag in live.values()):
                return None
        hashing = stamp.hasher.copy()  # decision_of(stamp.hashed, place.hashed), in line
        hashing.update(place.hashed)
        decision_id = hexlify(hashing.digest()[:16])
        return (
            (decision_id, place.at, stamp) if stamp.bytes_at(decision_id, place) == value else None
        )

    def _question(self, middle: bytes, read: bytes) -> _Asked | None:
        """The question read from the entry's bytes but its position (remembered per text)."""
        fields, marks = middle_fields(middle), read_fields(read)
        asked = None
        if fields is not None and marks is not None:
            recipient, rule_id, events = fields
            flag = self._number((events, rule_id, *marks))
            asked = _Asked(next(self._counter), recipient, rule_id, events, *marks, flag)
        if len(self._asked) >= _MEMO_MAX:
            self._asked.clear()
        self._asked[middle, read] = asked
        return asked

    def _place(self, where: bytes) -> Place | None:
        """What a position written as the record writes it determines (None: no record)."""
        found = _POSITION.fullmatch(where)
        place = None if found is None else self._lane.place(int(found[1]), int(found[2]))
        if len(self._places) >= _MEMO_MAX:
            self._places.clear()
        self._places[where] = place
        return place

    def _state(self, where: bytes, place: Place, asked: _Asked) -> _State:
        """The subject's consent state at the position as the engine sees it, numbered
        (see the module doc); -1 when the entry's dispatch cannot be re-derived."""
        question = self._asking(asked, place)
        try:
            basis = self._rederiver.basis(question)
        except UnreplayableError:
            state = _UNREPLAYABLE
        else:
            self._rederiver.held.subjects.add(basis.token)
            ledger = basis.consent
            live = (
                tuple(
                    (r.consent_id, r.given_at, r.purpose, r.provider, r.recipients)
                    for r in ledger.for_subject(basis.token)
                    if r.live(basis.at)
                )
                if ledger.records
                else None
            )
            read = (
                None
                if asked.watermark is None and not ledger.ends
                else consent_read_of(ledger, asked.watermark)
            )
            written = None if read is None else read.__pydantic_serializer__.to_json(read)
            state = (self._number((live, written)), written, basis)
        if len(self._states) >= _MEMO_MAX:
            self._states.clear()
        self._states[where, asked.flag] = state
        return state

    def _stamp(self, key: _Key, place: Place, asked: _Asked, state: _State) -> object:
        """The stamp for a key, made by the lane (:meth:`~hub.audit.lane.Lane.stamp`;
        :data:`_NEVER` when its entries are not quiet denials; None when the entry's
        dispatch cannot be re-derived). ``state`` holds the dispatch's inputs at the
        entry's position (:meth:`_state`: the same question but its partnership)."""
        _, read, basis = state
        if basis is None:
            return None
        verdict = self._lane.verdict(basis, place, asked.recipient)
        stamp = stamp_of(self._lane, basis, asked.recipient, verdict, read)
        if stamp is not None:
            tallied = stamp.tallied
            stamp.tallied = self._tallied.setdefault(tallied.key(), tallied)
        if len(self._stamps) >= _MEMO_MAX:
            self._stamps.clear()
        self._stamps[key] = _NEVER if stamp is None else stamp
        return self._stamps[key]

    @staticmethod
    def _asking(asked: _Asked, place: Place) -> Question:
        """The entry's question (but its decision id: re-deriving it does not read it)."""
        return Question(
            "",
            asked.recipient,
            asked.rule_id,
            asked.events,
            place.position,
            asked.ends,
            asked.watermark,
        )

    def _number(self, value: object) -> int:
        found = self._numbers.get(value)
        if found is None:
            if len(self._numbers) >= _MEMO_MAX:
                self._numbers.clear()
            found = self._numbers[value] = next(self._counter)
        return found
