"""What one accepted record sends: its alerts packed per outbox partition, its decisions in one.

Every step the record's events, ticks or switch made (:class:`hub.dispatch.Step`) is added in
order. When the record is done the pending alerts are grouped by the outbox partition of their
partnership (keeping their order, which is the order the sequencer numbers them in) and each
group is sealed as **one** ``alerts`` record MACed for that partition; the decisions go as
**one** ``decisions`` record signed by the hub (auditors verify it with the public key alone).
A group larger than :data:`RECORD_BUDGET` is split in order, so no record outgrows what a
topic takes (a switch can re-decide a whole partition's subjects).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from hub.correlation.values import Outgoing
from hub.crypto import HmacKey
from hub.crypto.record import Kind, Place
from hub.crypto.signing import SigningKey
from hub.crypto.trust import seal_record
from hub.disclosure import DecisionRecord, Step
from hub.retention import MAX_MESSAGE_BYTES
from hub.sequencer import Pending
from hub.transport.partitioner import partition_for

RECORD_BUDGET = MAX_MESSAGE_BYTES // 2
"""Item bytes per record at most (one item is never split): half of what a topic takes."""
DECISIONS_KEY = b"decisions"


@dataclass(frozen=True, slots=True)
class Sealer:
    """Where the records go and the keys they are sealed with."""

    outbox_topic: str
    decisions_topic: str
    partitions: int
    internal: HmacKey
    hub: SigningKey


class Emission:
    """The alerts and decisions of one record's steps, in the order they were made."""

    def __init__(self) -> None:
        self.pending: list[Pending] = []
        self.decisions: list[DecisionRecord] = []

    def add(self, step: Step) -> None:
        """Queue a step's alerts for numbering and its decisions for the ledger."""
        self.pending += step.pending
        self.decisions += step.decisions

    def outbox(self, sealer: Sealer, now: datetime) -> tuple[Outgoing, ...]:
        """One ``alerts`` record per outbox partition (more only past the budget)."""
        groups: dict[int, list[Pending]] = {}
        for pending in self.pending:
            key = pending.partnership_id.encode()
            groups.setdefault(partition_for(key, sealer.partitions), []).append(pending)
        found = []
        for partition, group in groups.items():
            place = Place(sealer.outbox_topic, partition)
            for chunk in _chunks([(p.partnership_id, p.to_bytes()) for p in group]):
                ids = sorted({name for name, _ in chunk})
                items = tuple(item for _, item in chunk)
                value = seal_record(Kind.ALERTS, now, items, place, sealer.internal)
                found.append(Outgoing(place.topic, partition, ",".join(ids).encode(), value))
        return tuple(found)

    def ledger(self, sealer: Sealer, now: datetime) -> tuple[Outgoing, ...]:
        """One ``decisions`` record on partition 0 (more only past the budget)."""
        place = Place(sealer.decisions_topic, 0)
        # model_dump_json's bytes, without its keyword handling and str round trip
        labelled = [("", r.__pydantic_serializer__.to_json(r)) for r in self.decisions]
        return tuple(
            Outgoing(
                place.topic,
                0,
                DECISIONS_KEY,
                seal_record(Kind.DECISIONS, now, tuple(i for _, i in chunk), place, sealer.hub),
            )
            for chunk in _chunks(labelled)
        )


def _chunks(items: list[tuple[str, bytes]]) -> Iterator[list[tuple[str, bytes]]]:
    """``items`` in order, cut where the next item would take a chunk past the budget."""
    chunk: list[tuple[str, bytes]] = []
    size = 0
    for item in items:
        if chunk and size + len(item[1]) > RECORD_BUDGET:
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += len(item[1])
    if chunk:
        yield chunk
