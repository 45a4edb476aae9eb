"""One accepted record being decided: what the service reads it with and what it gathers.

:class:`Wiring` is what the service decides with, :class:`Tables` what it reads, and a
:class:`Batch` holds, for one record, the rows it touches (read and written once each), its
SNA counts, its steps' alerts and decisions, its consent barrier and its outcome counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from hub.config import Settings
from hub.correlate import Correlator
from hub.correlation.consent import Withdrawals
from hub.correlation.emission import Emission
from hub.correlation.rows import Rows, Where
from hub.correlation.values import ConsentBarrier, Received, SealedTable
from hub.crypto.record import Kind
from hub.crypto.tablevalue import unwrapped
from hub.dispatch import Moment, Step
from hub.policy import PolicyClock
from hub.registry import Registry
from hub.runtime import WorkerKeys
from hub.sna import CountContext
from hub.sna.stream import Counting, Remembered

SUBJECTS = "subjects"
"""The worker's table of subject states (and area counts, and each partition's policy row)."""
POLICY_KEY = "__policy__:{partition}"
AREA_KEY = "__area__:{lsoa}"
"""The subject-table row of an LSOA's counts for place-based alerts (``hub.hotspot``)."""
#: What the accepted topic carries: events (ingest), ticks (the worker), markers (governance).
ACCEPTED_KINDS = frozenset({Kind.EVENTS, Kind.TICK, Kind.SWITCH})


@dataclass(frozen=True, slots=True)
class Wiring:
    """What the service decides with: settings, the correlator, the registry, the worker's
    policy clock and keys, and the consent feeds (None: no consent-taking agency)."""

    settings: Settings
    correlator: Correlator
    registry: Registry
    clock: PolicyClock
    keys: WorkerKeys
    consent: ConsentBarrier | None = None


@dataclass(frozen=True, slots=True)
class Tables:
    """The tables the service reads: subject states and SNA counts."""

    subjects: SealedTable
    sna: SealedTable


class Batch:
    """One record being processed: its rows, SNA counts, steps, consent barrier and counts."""

    def __init__(
        self,
        received: Received,
        tables: Tables,
        wiring: Wiring,
        counter: CountContext,
        remembered: Remembered | None = None,
    ):
        self.received = received
        where = Where(SUBJECTS, received.partition, received.offset)
        self.rows = Rows(tables.subjects, where, wiring.keys.internal)
        self.counting = Counting(counter, partial(_body, tables.sna), remembered)
        self.emission = Emission()
        self.withdrawals = Withdrawals(wiring.consent, wiring.correlator)
        self.counts: dict[str, int] = {}
        self.moment: Moment | None = None

    def note(self, name: str, n: int = 1) -> None:
        """Add to one of the outcome's counts."""
        self.counts[name] = self.counts.get(name, 0) + n

    def emit(self, step: Step, count: str = "alerts") -> None:
        """Queue a step's alerts and decisions, counting its alerts under ``count``."""
        self.emission.add(step)
        if step.pending:
            self.note(count, len(step.pending))


def _body(table: SealedTable, key: bytes) -> bytes | None:
    stored = table.get(key)
    return None if stored is None else unwrapped(stored)[1]
