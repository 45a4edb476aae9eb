"""The question a ledger decision answered, read from the entry without building its model.

Replay re-derives a decision from its question only (:mod:`hub.audit.rederive`): where it
was taken (``position``), about which events, under which rule, for which recipient, and the
consent ends and feed watermark it names. :func:`question_of` reads those fields straight
from the entry's parsed JSON and checks each has the shape :class:`DecisionRecord` requires;
it returns None for anything else, and the replayer then validates the whole record as
before, so an odd entry is judged exactly as a full validation would judge it.

:func:`written_question` reads the question without parsing the entry, from bytes laid out
exactly as ``model_dump_json`` lays a record out (anything else: None). It is only a guess
until the replayer has found the entry's bytes equal to the re-derived record's: those bytes
are laid out so, and on them the guess is the question a parse reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from hub.dispatch import DecisionRecord, FeedMark, Position

_POSITION_KEYS = frozenset({"partition", "offset"})
_MARK_KEYS = frozenset({"topic", "partition", "offset"})
_READ_KEYS = frozenset({"watermark", "ends"})
_TEXT = rb'"([^"\\]*)"'
_ID_AT = re.compile(rb'\{"decision_id":' + _TEXT + rb',"decided_at":' + _TEXT)
_DECISIONS = b',"decisions":['
_FLAG = (
    rb',"flag_id":"[^"\\]*","rule_id":' + _TEXT
    + rb',"rule_version":-?[0-9]+,"policy_sequence":-?[0-9]+,"outcome":"[^"\\]*"'
    + rb',"events":\[((?:"[^"\\]*")?(?:,"[^"\\]*")*)\],"inputs_digest":"[^"\\]*"'
    + re.escape(_DECISIONS)
)  # fmt: skip
_MIDDLE = re.compile(rb',"recipient":' + _TEXT + _FLAG)
_FLAG_FIELDS = re.compile(_FLAG)
"""The fields from the recipient to the opening of the decisions: one pattern with the
decision id and time before them. Strings hold no quote, so the first ``,"decisions":[``
after the time ends the fields wherever the whole pattern matches."""
_POSITION = re.compile(
    rb',"position":(?:null|\{"partition":([0-9]+),"offset":([0-9]+)\}),"consents":\['
)
_READ = b',"consent_read":'
_NULL_READ = _READ + b"null}"
"""The end of an entry that read no consent (most of them)."""
_NO_READ: tuple[tuple[str, ...], None] = ((), None)


class Question(NamedTuple):
    """What a decision was asked: the only fields of an entry replay takes as given.

    A named tuple: one is built per entry, and a tuple is the cheapest immutable value.
    """

    decision_id: str
    recipient: str
    rule_id: str
    events: tuple[str, ...]
    position: Position | None
    ends: tuple[str, ...] = ()
    """The consent ends the entry says it was taken under (``consent_read.ends``)."""
    watermark: tuple[FeedMark, ...] | None = None
    """The consent feeds' read positions it names (``consent_read.watermark``), if any."""

    @classmethod
    def of(cls, record: DecisionRecord) -> Question:
        """The question of a validated record."""
        read = record.consent_read
        return cls(
            decision_id=record.decision_id,
            recipient=record.recipient,
            rule_id=record.rule_id,
            events=record.events,
            position=record.position,
            ends=read.ends if read else (),
            watermark=(read.watermark or None) if read else None,
        )


def question_of(raw: Mapping[str, Any]) -> Question | None:
    """The question of a parsed entry, or None when a field is not of the record's shape."""
    decision_id, recipient, rule_id = (raw.get(n) for n in ("decision_id", "recipient", "rule_id"))
    events, position, read = raw.get("events"), raw.get("position"), raw.get("consent_read")
    if not (
        type(decision_id) is str
        and type(recipient) is str
        and type(rule_id) is str
        and _strings(events)
        and (position is None or _is_position(position))
        and (read is None or _is_read(read))
    ):
        return None
    marks = tuple(_mark(m) for m in read.get("watermark", ())) if read else ()
    return Question(
        decision_id=decision_id,
        recipient=recipient,
        rule_id=rule_id,
        events=tuple(events or ()),
        position=None
        if position is None
        else position_at(position["partition"], position["offset"]),
        ends=tuple(read.get("ends", ())) if read else (),
        watermark=marks or None,
    )


def written_question(value: bytes) -> tuple[Question, str] | None:
    """The question of an entry written as ``model_dump_json`` writes a record, and the text
    of its decision time; None when the bytes are not laid out so (see the module doc)."""
    head = _ID_AT.match(value)
    if head is None:
        return None
    middle_end = value.find(_DECISIONS, head.end()) + len(_DECISIONS)
    middle = middle_fields(value[head.end() : middle_end])
    read_at = value.rfind(_READ)
    if middle is None or read_at < middle_end or not value.endswith(b"}"):
        return None
    place = _POSITION.match(value, value.rfind(b',"position":', middle_end, read_at))
    nothing_read = value.endswith(_NULL_READ)
    read = _NO_READ if nothing_read else read_fields(value[read_at + len(_READ) : -1])
    if place is None or read is None:
        return None
    try:
        decision_id, at = head.group(1).decode(), head.group(2).decode()
    except UnicodeDecodeError:
        return None
    partition, offset = place.groups()
    recipient, rule_id, events = middle
    position = None if partition is None else position_at(int(partition), int(offset))
    return Question(decision_id, recipient, rule_id, events, position, *read), at


@lru_cache(maxsize=16_384)
def middle_fields(text: bytes) -> tuple[str, str, tuple[str, ...]] | None:
    """The recipient, rule and events of a record's fields from its recipient to its
    decisions (remembered per text: a flag's entries for one partnership share it)."""
    fields = _decoded(_MIDDLE, text)
    if fields is None:
        return None
    recipient, rule_id, events = fields
    return recipient, rule_id, _events(events)


def flag_fields(text: bytes) -> tuple[str, tuple[str, ...]] | None:
    """The rule and events of a record's fields from its flag id to its decisions (no
    recipient: :mod:`hub.audit.group` reads them once for a dispatch's entries)."""
    fields = _decoded(_FLAG_FIELDS, text)
    if fields is None:
        return None
    rule_id, events = fields
    return rule_id, _events(events)


def _decoded(pattern: re.Pattern[bytes], text: bytes) -> list[str] | None:
    """The groups of the pattern matching the whole text, as text; None when it does not
    match or a group is not UTF-8."""
    fields = pattern.fullmatch(text)
    if fields is None:
        return None
    try:
        return [g.decode() for g in fields.groups()]
    except UnicodeDecodeError:
        return None


def _events(listed: str) -> tuple[str, ...]:
    """The event ids of a record's ``events`` array, written without its brackets."""
    return tuple(listed[1:-1].split('","')) if listed else ()


@lru_cache(maxsize=16_384)
def read_fields(text: bytes) -> tuple[tuple[str, ...], tuple[FeedMark, ...] | None] | None:
    """A ``consent_read`` value's ends and watermark; None when not of the record's shape
    (remembered per text: a subject's entries name the same ends and marks again and again;
    the values are immutable)."""
    if text == b"null":
        return (), None
    try:
        read = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not _is_read(read):
        return None
    return tuple(read.get("ends", ())), tuple(_mark(m) for m in read.get("watermark", ())) or None


def _strings(value: object) -> bool:
    return type(value) is list and all(type(v) is str for v in value)


def _ints(raw: Mapping[str, Any], names: tuple[str, ...]) -> bool:
    return all(type(raw.get(n)) is int for n in names)


def _is_position(value: object) -> bool:
    return (
        type(value) is dict
        and value.keys() == _POSITION_KEYS
        and _ints(value, ("partition", "offset"))
    )


@lru_cache(maxsize=65_536)
def position_at(partition: int, offset: int) -> Position:
    """One position object per place: a ledger names the same few thousand again and again."""
    return Position.model_construct(partition=partition, offset=offset)


def _is_read(value: object) -> bool:
    if type(value) is not dict or not value.keys() <= _READ_KEYS:
        return False
    marks = value.get("watermark", [])
    return _strings(value.get("ends", [])) and (
        type(marks) is list and all(_is_mark(m) for m in marks)
    )


def _is_mark(value: object) -> bool:
    return (
        type(value) is dict
        and value.keys() == _MARK_KEYS
        and type(value["topic"]) is str
        and _ints(value, ("partition", "offset"))
    )


def _mark(value: Mapping[str, Any]) -> FeedMark:
    return FeedMark.model_construct(**value)
