"""Counting accepted events for a strategic needs assessment, under the agreements.

An event counts when the agreements in force where it was accepted (the partition's switch
markers, as for every other decision) permit it, for the purpose
``strategic_needs_assessment``, to the partnership of the council its LSOA lies in: that
partnership's community safety partnership owns the area's assessment. Area-only events
count like person-level ones. Consent records are bookkeeping, not measures: never counted.
Each event counts once (its first occurrence on the accepted topic, as the correlator folds
it), and only events read below the release's cut-off (its end offset per partition).

The result holds the counts by :class:`Cell` and, for the ledger, how many events were left
out and why (reason codes and counts only), and the agreement versions that permitted them.
Pure: the caller supplies the events and one evaluator per agreement sequence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from hub.consent import is_consent_event
from hub.dsa import Evaluator, EventFacts, Purpose
from hub.geo import AreaLookup
from hub.models.accepted import Located
from hub.models.built import built
from hub.registry import Registry

UNKNOWN = "unknown"
OPEN_END = 200
"""The upper bound of the last age band (``25+``)."""
AGE_BANDS = ((0, 9), (10, 13), (14, 17), (18, 24), (25, OPEN_END))
DECEMBER = 12


@lru_cache(maxsize=256)
def age_band(age: int | None) -> str:
    """The band an age falls in (``10-13``, ``25+``), ``unknown`` when the event has none."""
    if age is None:
        return UNKNOWN
    for low, high in AGE_BANDS:
        if low <= age <= high:
            return f"{low}+" if high >= OPEN_END else f"{low}-{high}"
    return UNKNOWN


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    """The finest breakdown counted: council, LSOA, month, event type, agency, age band."""

    council: str
    lsoa: str
    month: str
    event_type: str
    agency: str
    age_band: str


@dataclass(frozen=True, slots=True)
class Period:
    """The occurrence dates a release covers (inclusive)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")

    def contains(self, at: datetime) -> bool:
        """Whether an event that occurred at ``at`` (UTC date) falls in the period."""
        return self.start <= at.date() <= self.end

    def months(self) -> tuple[str, ...]:
        """Every month the period touches, ``YYYY-MM``, in order."""
        found, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            found.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == DECEMBER else (year, month + 1)
        return tuple(found)


@dataclass(slots=True)
class Counted:
    """The counts by cell, what was left out and why, and the agreements that permitted."""

    cells: Counter[Cell] = field(default_factory=Counter)
    excluded: Counter[str] = field(default_factory=Counter)
    agreements: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        """Events counted."""
        return sum(self.cells.values())


@dataclass(frozen=True, slots=True)
class CountContext:
    """What counting decides with: areas, the registry, and the evaluator for a position."""

    areas: AreaLookup
    registry: Registry
    evaluator_at: Callable[[int, int], Evaluator]
    """The evaluator for the agreements in force at (partition, offset)."""


def count(
    events: Iterable[Located], period: Period, cutoff: Mapping[int, int], counter: CountContext
) -> Counted:
    """Count the events of ``period`` read below ``cutoff`` that the agreements permit."""
    counted, seen = Counted(), set[str]()
    for item in events:
        if item.offset >= cutoff.get(item.partition, 0) or item.event.event_id in seen:
            continue
        seen.add(item.event.event_id)
        if not period.contains(item.event.envelope.occurred_at):
            continue
        add(counted, classify(item, counter))
    return counted


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one event adds: a cell under an agreement, or a reason it was left out."""

    day: str
    cell: Cell | None = None
    agreement: str = ""
    excluded: str = ""


def classify(item: Located, counter: CountContext) -> Verdict:
    """The SNA decision for one accepted event (the stream and the auditor share it)."""
    event = item.event
    day = event.envelope.occurred_at.date().isoformat()
    if is_consent_event(event.event_type):
        return Verdict(day, excluded="consent_record")
    lsoa = event.envelope.lsoa
    council = counter.areas.council(lsoa)
    partnership = None if council is None else counter.registry.partnership_for_council(council)
    if council is None or partnership is None:
        return Verdict(day, excluded="outside_area")
    # The event's values are validated already (hub.models.event): not validated again.
    envelope = event.envelope
    facts = built(
        EventFacts,
        {
            "event_id": event.event_id,
            "agency_id": envelope.agency_id,
            "event_type": event.event_type,
            "occurred_at": envelope.occurred_at,
            "council": council,
            "age": envelope.age,
            "subject_token": event.subject_token,
            "lsoa": lsoa,
            "fields": event.fields,
        },
    )
    evaluator = counter.evaluator_at(item.partition, item.offset)
    decision = evaluator.decide(
        facts, partnership.id, item.at, purpose=Purpose.STRATEGIC_NEEDS_ASSESSMENT
    )
    if not decision.permitted:
        reason = str(decision.reasons[0]) if decision.reasons else "denied"
        return Verdict(day, excluded=reason)
    cell = Cell(
        council,
        lsoa,
        day[:7],
        event.event_type,
        event.envelope.agency_id,
        age_band(event.envelope.age),
    )
    return Verdict(day, cell, f"{decision.agreement_id}@{decision.agreement_version}")


def add(counted: Counted, verdict: Verdict, n: int = 1) -> None:
    """Add ``n`` events of one verdict to ``counted``."""
    if verdict.cell is None:
        counted.excluded[verdict.excluded] += n
        return
    counted.agreements.add(verdict.agreement)
    counted.cells[verdict.cell] += n
