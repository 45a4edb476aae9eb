"""The decisions topic as records: hub-signed batches of decisions, and what is not one.

The correlate agent writes each step's decisions as one internal record (``hub.crypto.record``,
kind ``decisions``) signed with the hub's Ed25519 key and bound to the decisions topic's
partition 0. The ledger agent and every verifier open the topic with :func:`open_decisions`:
the decisions of records that verify become ledger entries, in order; every other record is
*uncovered*: never sealed, and named by ``hub audit verify`` with its offset, its reason and
the decision ids it claims (read without trusting them, so an auditor can find it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from hub.crypto.record import Kind, Place, parse
from hub.crypto.trust import RecordVerifier
from hub.errors import CryptoError, MalformedRecordError

DECISIONS_KINDS = frozenset({Kind.DECISIONS})


@dataclass(frozen=True, slots=True)
class Uncovered:
    """A decisions-topic record that is not an authentic hub record: never in the ledger."""

    offset: int
    reason: str
    decision_ids: tuple[str, ...] = ()
    """The decision ids it claims, unverified (empty when it claims none)."""

    def to_json(self) -> dict[str, object]:
        """Plain JSON data."""
        return {
            "offset": self.offset,
            "reason": self.reason,
            "decision_ids": list(self.decision_ids),
        }


@dataclass(frozen=True, slots=True)
class OpenedDecisions:
    """The decisions of the records that verified, in topic order, and every other record."""

    entries: tuple[bytes, ...]
    uncovered: tuple[Uncovered, ...]
    records: int


def open_decisions(
    values: Iterable[bytes], verifier: RecordVerifier, topic: str
) -> OpenedDecisions:
    """Open every record of the decisions topic (partition 0, offset order)."""
    entries: list[bytes] = []
    uncovered: list[Uncovered] = []
    place = Place(topic, 0)
    count = 0
    for offset, value in enumerate(values):
        count += 1
        try:
            record = verifier.open(value, place, DECISIONS_KINDS)
        except CryptoError as exc:
            uncovered.append(Uncovered(offset, exc.reason, claimed_ids(value)))
            continue
        entries.extend(record.items)
    return OpenedDecisions(tuple(entries), tuple(uncovered), count)


def claimed_ids(value: bytes) -> tuple[str, ...]:
    """The decision ids a record claims, without trusting it: a record's items, or plain JSON."""
    try:
        items: Iterable[bytes] = parse(value).items
    except MalformedRecordError:
        items = (value,)
    return tuple(found for item in items if (found := _decision_id(item)))


def _decision_id(item: bytes) -> str:
    try:
        raw = json.loads(item)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return ""
    found = raw.get("decision_id") if isinstance(raw, dict) else None
    return found if isinstance(found, str) else ""
