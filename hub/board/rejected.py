"""Quarantine for the board: rejected inputs by agency and reason code.

The agency is read from the record's source topic (``<prefix>.feed.<agency>``); a record
rejected from another topic is counted under that topic's role (``accepted``, ...). Nothing
else of the record is used: never its bytes, key, headers or detail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError

from hub.quarantine import QuarantineRecord


@dataclass(frozen=True, slots=True)
class Rejected:
    """One quarantined input: when, whose, why."""

    at: datetime
    agency: str
    reason: str


@dataclass(slots=True)
class QuarantineFacts:
    """Every quarantined input, and how many records could not be read."""

    rejected: list[Rejected] = field(default_factory=list)
    unreadable: int = 0


def read_quarantine(values: Iterable[bytes], topic_prefix: str) -> QuarantineFacts:
    """Fold quarantine-topic values (any partition order).

    A rejected input is counted once however many records say so: an agent sends its outputs
    again after a delivery that failed but may have landed, and after a crash, so the same
    input (its source position: topic, partition, offset and event index) can be quarantined
    twice. The first record read is the one counted.
    """
    facts = QuarantineFacts()
    counted: set[str] = set()
    for value in values:
        try:
            record = QuarantineRecord.from_bytes(value)
        except (ValueError, ValidationError):
            facts.unreadable += 1
            continue
        position = record.source.position
        if position in counted:
            continue
        counted.add(position)
        agency = source_of(record.source.topic, topic_prefix)
        facts.rejected.append(Rejected(record.quarantined_at, agency, record.reason))
    return facts


def source_of(topic: str, topic_prefix: str) -> str:
    """The agency of a feed topic, else the topic's name without the hub's prefix."""
    name = topic.removeprefix(f"{topic_prefix}.")
    return name.removeprefix("feed.") if name.startswith("feed.") else name
