"""Which agreement versions govern each point of the stream.

Agreement versions are published to the agreements topic (the source of truth). Then a
*switch marker* naming the publisher's sequence is written into every partition of the
accepted-event topic, signed by information governance like the publications
(``hub.governance``). A worker applies a version to an event only once it has read the
marker in that event's partition. Every worker therefore switches at the same point of each
partition, whatever its timing. Each decision records the sequence it used, and a replay that
applies the same markers decides the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from hub.dispatch import Moment, Position
from hub.dsa import AgreementBook, Evaluator
from hub.errors import AgreementError
from hub.registry import Registry

SWITCH_KIND = "vru.dsa.switch"
"""The ``kind`` of a switch marker's JSON (the item of a governance-signed ``switch`` record)."""


@dataclass(frozen=True, slots=True)
class Switch:
    """A marker: from here on, this partition uses publications up to ``sequence``."""

    sequence: int

    def to_bytes(self) -> bytes:
        """The marker's record value."""
        return json.dumps({"kind": SWITCH_KIND, "sequence": self.sequence}).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Switch:
        """Parse a marker; AgreementError if it is not one."""
        try:
            raw = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AgreementError("switch marker is not JSON") from exc
        if not isinstance(raw, dict) or raw.get("kind") != SWITCH_KIND:
            raise AgreementError("not a switch marker")
        sequence = raw.get("sequence")
        if not isinstance(sequence, int) or sequence < 0:
            raise AgreementError("switch marker without a valid sequence")
        return cls(sequence)


class PolicyClock:
    """The publications a worker has read, and the sequence each partition has switched to."""

    def __init__(self, book: AgreementBook | None = None) -> None:
        self._book = book or AgreementBook()
        self._heard = 0
        self._active: dict[int, int] = {}
        self._prefixes: dict[int, AgreementBook] = {}

    @property
    def book(self) -> AgreementBook:
        """Every publication read so far."""
        return self._book

    def publish(self, message: bytes) -> None:
        """Fold in one agreements-topic record (redeliveries are no-ops)."""
        self._book = self._book.apply(message)

    def heard(self, sequence: int) -> None:
        """Note an authenticated record's sequence, even one the book refused as invalid.

        A marker naming it must not wait for ever: the book up to that sequence simply lacks
        the refused record. Unauthenticated records never reach here (``agents.policy``).
        """
        self._heard = max(self._heard, sequence)

    def ready_for(self, switch: Switch) -> bool:
        """Whether the publications the marker names have been read."""
        return max(self._book.last_sequence, self._heard) >= switch.sequence

    def switch(self, partition: int, switch: Switch) -> None:
        """Apply a marker read on ``partition``; the caller waits for :meth:`ready_for` first."""
        if not self.ready_for(switch):
            raise AgreementError(f"marker {switch.sequence} ahead of publications read")
        self._active[partition] = max(self._active.get(partition, 0), switch.sequence)

    def restore(self, partition: int, sequence: int) -> None:
        """Set a partition's sequence from persisted state after a restart."""
        self._active[partition] = sequence

    def sequence(self, partition: int) -> int:
        """The publisher sequence governing ``partition`` now (0: nothing published)."""
        return self._active.get(partition, 0)

    def book_for(self, partition: int) -> AgreementBook:
        """The history that governs ``partition``: publications up to its active sequence."""
        sequence = self.sequence(partition)
        cached = self._prefixes.get(sequence)
        if cached is None:
            cached = self._book.up_to(sequence)
            if self.ready_for(Switch(sequence)):
                self._prefixes[sequence] = cached
        return cached


class Moments:
    """When, where and under what a record of the accepted topic is decided.

    The record's time and position, and the agreements governing its partition
    (:meth:`PolicyClock.book_for`), with one evaluator per agreement sequence, built when
    first needed. The caller makes sure the partition's publications have all been read
    (:meth:`PolicyClock.ready_for`) before asking.
    """

    def __init__(self, clock: PolicyClock, registry: Registry) -> None:
        self.clock = clock
        self._registry = registry
        self._evaluators: dict[int, Evaluator] = {}

    def at(self, partition: int, at: datetime, offset: int) -> Moment:
        """The moment for the record at ``offset`` of ``partition``, decided at ``at``."""
        sequence = self.clock.sequence(partition)
        evaluator = self._evaluators.get(sequence)
        if evaluator is None:
            evaluator = Evaluator(self.clock.book_for(partition), self._registry)
            self._evaluators[sequence] = evaluator
        position = Position(partition=partition, offset=offset)
        return Moment(at=at, policy=evaluator, policy_sequence=sequence, position=position)
