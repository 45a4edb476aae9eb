"""Whether a worker is alive and whether it is ready, from a snapshot of its state.

Pure: the faust side (``agents/health.py``) reads the snapshot from the app and serves the
verdicts on ``/healthz`` and ``/readyz``. A worker is **live** while its event loop answers
and it has not crashed. It is **ready** only when its tables are recovered, it holds
partitions and no rebalance (with its recovery) is under way; faust keeps ``rebalancing``
set from the start of a rebalance until the recovery that follows it has resumed the streams.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WorkerSnapshot:
    """What readiness depends on, read from the running worker."""

    crashed: bool
    stopping: bool
    recovered: bool
    """Table recovery has completed at least once since the worker started."""
    rebalancing: bool
    in_recovery: bool
    assigned: int
    """Partitions currently assigned to this worker."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A probe's answer: ok or not, and the reasons why not (closed codes)."""

    ok: bool
    reasons: tuple[str, ...] = ()

    @property
    def status(self) -> int:
        """The HTTP status a probe endpoint answers with."""
        return 200 if self.ok else 503

    def to_json(self) -> str:
        """The response body: ``{"ok": ..., "reasons": [...]}``."""
        return json.dumps({"ok": self.ok, "reasons": list(self.reasons)})


def liveness(snapshot: WorkerSnapshot) -> Verdict:
    """Live unless the worker crashed (an answer at all means the event loop runs)."""
    return Verdict(False, ("crashed",)) if snapshot.crashed else Verdict(True)


def readiness(snapshot: WorkerSnapshot) -> Verdict:
    """Ready only with recovered tables, an assignment, and no rebalance or recovery running."""
    checks = (
        (snapshot.crashed, "crashed"),
        (snapshot.stopping, "stopping"),
        (not snapshot.recovered, "not_recovered"),
        (snapshot.rebalancing, "rebalancing"),
        (snapshot.in_recovery, "recovering"),
        (snapshot.assigned == 0, "no_assignment"),
    )
    reasons = tuple(reason for failed, reason in checks if failed)
    return Verdict(not reasons, reasons)
