"""What the fast lane remembers per input: places, verdicts, event classes, consent lookups.

Split from :mod:`hub.audit.lane` (which uses them, with :mod:`hub.audit.group`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hub.consent import ConsentLedger
from hub.dispatch import Position
from hub.dsa import ConsentRef, Decision, Evaluator, EventFacts, Purpose


@dataclass(frozen=True, slots=True)
class Place:
    """What an entry's stream position determines (shared by every entry taken there)."""

    at: datetime
    text: bytes
    """The time as a record writes it, with its opening quote."""
    iso: str
    """The time as the decision id hashes it."""
    sequence: int
    slot: int
    """The interval of the agreement book ``at`` falls in (its breakpoints bisected)."""
    where: str
    """The position as the decision id hashes it."""
    where_json: bytes
    """The position as the record writes it."""
    hashed: bytes
    """The time and position as the decision id hashes them (:func:`decision_of`)."""
    position: Position


@dataclass(slots=True)
class Verdict:
    """The engine's decisions on a flag's events for one partnership, and what follows.

    Not frozen: :attr:`chunks` is filled on first use; nothing else changes once built.
    """

    outcomes: tuple[Decision, ...]
    permit: bool
    consulting: bool
    """Whether any decision has a consent clause (then the consent records are listed)."""
    ids: tuple[int, ...]
    """The decisions' identities (how the summary counts them: :meth:`Tally.count`)."""
    chunks: list[bytes] | None = None
    """The decisions' bytes for the flag's events (a remembered verdict is one flag's), cut
    at each decision's time; empty when they cannot be cut so."""


EventClass = tuple[int, str, str, str | None, int | None]
"""The agreement sequence, and an event's agency, type, council and age band."""

EventKey = tuple[int, int, str]
"""(an event class, numbered; the interval of the book; the partnership)."""


@dataclass(slots=True)
class Expected:
    """An entry's expected bytes, and what counting it does."""

    value: bytes
    change: Callable[[], None]
    """The entry's change to the flags held (made once the entry is counted)."""
    outcome: str
    retraction: bool
    verdict: Verdict
    agencies: tuple[str, ...]


def event_class(fact: EventFacts, sequence: int, evaluator: Evaluator) -> EventClass:
    """What the agreements engine at ``sequence`` tells apart in an event.

    The engine decides one event for one partnership from the interval of the book the time
    falls in, the event's agency, type, council and age band (the ages its age scopes treat
    alike), the partnership, the purpose (always the same here) and the answers of the
    consent view, and remembers its decisions per those (:meth:`hub.dsa.Evaluator.decide`).
    With the empty consent view every answer is "none": two events of one class get the
    same decision (but for event id and time) at the same interval and partnership.
    """
    return (sequence, *evaluator.event_class(fact))


Outcomes = tuple[Decision, ...]
Asked = tuple[tuple[Purpose, str], ...]
"""Consent lookups: (purpose, provider) each."""
UNASKED = object()
Fact = tuple[str, datetime] | None
"""A consent lookup's answer: the consent's id and the time it was given, or None (what the
engine tells answers apart by)."""


def fact_of(found: ConsentRef | None) -> Fact:
    return None if found is None else (found.consent_id, found.given_at)


class Asking:
    """A subject's consent ledger as the engine's view, noting each lookup and its answer."""

    __slots__ = ("_ledger", "_pid", "_token", "answers", "asked", "foreign")

    def __init__(self, ledger: ConsentLedger, token: str, pid: str) -> None:
        self._ledger, self._token, self._pid = ledger, token, pid
        self.asked: list[tuple[Purpose, str]] = []
        self.answers: list[Fact] = []
        self.foreign = False
        """Whether a lookup was about another subject or partnership."""

    def consent_for(
        self, subject_token: str, purpose: Purpose, provider: str, recipient: str, at: datetime
    ) -> ConsentRef | None:
        found = self._ledger.consent_for(subject_token, purpose, provider, recipient, at)
        self.foreign |= subject_token != self._token or recipient != self._pid
        self.asked.append((purpose, provider))
        self.answers.append(fact_of(found))
        return found
