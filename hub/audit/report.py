"""What a replay reports: the window it reports on, its report, and a shard's result.

Split from :mod:`hub.audit.replay`, which fills them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.audit.entry import canonical_json
from hub.audit.history import Reach
from hub.audit.mismatch import Mismatch
from hub.audit.tally import Tally
from hub.audit.watermark import WatermarkCounts


@dataclass(frozen=True, slots=True)
class Window:
    """The decision times to report on (inclusive bounds; None: open)."""

    start: datetime | None = None
    end: datetime | None = None

    def before(self, at: datetime) -> bool:
        """Whether ``at`` is before the window."""
        return self.start is not None and at < self.start

    def after(self, at: datetime) -> bool:
        """Whether ``at`` is after the window."""
        return self.end is not None and at > self.end


@dataclass(slots=True)
class ReplayReport:
    """What a replay found: counts, every mismatch, the summary, explanations asked for."""

    entries: int = 0
    repeats: int = 0
    outside: int = 0
    mismatched: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    explanations: list[dict[str, Any]] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    watermark: dict[str, Any] | None = None
    """The watermark check against the consent feeds, or None when none were given."""
    validated: int = 0
    """Entries read as whole records: not of the record's shape, or not equal to the
    re-derived one on the fast path (or every entry, with the consent feeds)."""

    @property
    def ok(self) -> bool:
        """Whether every entry re-derived exactly as recorded."""
        return not self.mismatches

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "ok": self.ok,
            "entries": self.entries,
            "repeats": self.repeats,
            "outside_window": self.outside,
            "mismatched_entries": self.mismatched,
            "mismatches": [m.to_json() for m in self.mismatches],
            "summary": self.tally.to_json(),
            "explanations": self.explanations,
            "unexplained": self.unexplained,
            "watermark": self.watermark,
            "validated_whole": self.validated,
        }

    def digest(self) -> str:
        """SHA-256 (hex) of the report's canonical JSON (:meth:`to_json`, sorted keys, no
        spaces): two replays gave the same report exactly when their digests are equal."""
        return hashlib.sha256(canonical_json(self.to_json())).hexdigest()


@dataclass(slots=True)
class ShardResult:
    """What a replay of some entries found, as plain values another process can merge:
    each mismatch and explanation with the index of its entry among all entries."""

    entries: int
    repeats: int
    outside: int
    mismatched: int
    validated: int
    mismatches: list[tuple[int, Mismatch]]
    explanations: list[tuple[int, dict[str, Any]]]
    tally: tuple[Counter[tuple[str, str, bool]], Counter[Any]]
    watermark: WatermarkCounts | None
    asked: set[str]
    """Every decision id looked up among those seen (repeats are found by id)."""
    subjects: set[str]
    """Every subject whose held flags a re-derivation read."""
    history: dict[str, int]
    """The history's counts (``Counts`` and ``records``)."""
    undecodable_events: set[str]
    """Events this shard's history found undecodable when looked up (in ``history``)."""
    reach: Reach | None = None
    """What its history, indexing its own partitions only, was asked and holds
    (:meth:`History.indexed <hub.audit.history.History.indexed>`); None when its history
    indexed every partition."""
    cpu: float = 0.0
    """CPU seconds its process spent on it (set by the caller)."""


class AskedIds(set[str]):
    """The decision ids seen, remembering every id looked up (:meth:`Replayer.shard`)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            self.asked.add(item)
        return super().__contains__(item)
