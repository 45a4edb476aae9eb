"""The question a ledger decision answered, read from the entry without building its model.

Replay re-derives a decision from its question only (:mod:`hub.audit.rederive`): where it
was taken (``position``), about which events, under which rule, for which recipient, and the
consent ends and feed watermark it names. :func:`question_of` reads those fields straight
from the entry's parsed JSON and checks each has the shape :class:`DecisionRecord` requires;
it returns None for anything else, and the replayer then validates the whole record as
before, so an odd entry is judged exactly as a full validation would judge it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hub.dispatch import DecisionRecord, FeedMark, Position

_POSITION_KEYS = frozenset({"partition", "offset"})
_MARK_KEYS = frozenset({"topic", "partition", "offset"})
_READ_KEYS = frozenset({"watermark", "ends"})


@dataclass(frozen=True, slots=True)
class Question:
    """What a decision was asked: the only fields of an entry replay takes as given."""

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
        else _position_at(position["partition"], position["offset"]),
        ends=tuple(read.get("ends", ())) if read else (),
        watermark=marks or None,
    )


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
def _position_at(partition: int, offset: int) -> Position:
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
