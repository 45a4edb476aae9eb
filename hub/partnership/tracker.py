"""Gap and duplicate detection over a partnership's numbered alert stream.

The hub numbers each partnership's alerts 1, 2, 3, ... with no holes, and its heartbeats say
the last number sent. A :class:`StreamTracker` is fed what arrives, in arrival order, and says
for each arrival whether to deliver it (:class:`Delivered`), drop it (:class:`Duplicate`: an
alert id or a sequence number seen before), and which numbers went missing on the way
(:class:`Gap`). Each missing number is reported in exactly one gap; if it turns up later (a
replay), it is delivered then, marked ``late``, and stops being missing.

The state is small and serialisable (:class:`TrackerState`): the highest number accounted
for, the gaps still open (as ranges) and a bounded window of recent alert ids. A consumer
persists it next to its own data, in the same transaction where it can, and resumes from it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from hub.errors import ValidationError

DEFAULT_WINDOW = 10_000


@dataclass(frozen=True, slots=True)
class Delivered:
    """Hand this alert to the partnership's system. ``late`` if it fills a reported gap."""

    seq: int
    alert_id: str
    late: bool = False


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Drop this alert: its id or its sequence number was seen before."""

    seq: int
    alert_id: str


@dataclass(frozen=True, slots=True)
class Gap:
    """Sequence numbers ``missing_from``..``missing_to`` (inclusive) have not arrived."""

    missing_from: int
    missing_to: int

    @property
    def size(self) -> int:
        """How many alerts are missing."""
        return self.missing_to - self.missing_from + 1


Outcome = Delivered | Duplicate | Gap


@dataclass(frozen=True, slots=True)
class TrackerState:
    """What a tracker must remember across restarts; JSON-serialisable."""

    highest: int = 0
    missing: tuple[tuple[int, int], ...] = ()
    recent: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "highest": self.highest,
            "missing": [list(r) for r in self.missing],
            "recent": list(self.recent),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TrackerState:
        """The state a :meth:`to_json` document describes."""
        try:
            missing = tuple((int(a), int(b)) for a, b in doc["missing"])
            return cls(int(doc["highest"]), missing, tuple(str(i) for i in doc["recent"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"tracker state does not parse ({type(exc).__name__})") from exc


class StreamTracker:
    """Classifies arrivals on one partnership stream; see the module docstring."""

    def __init__(
        self, state: TrackerState | None = None, *, from_seq: int = 1, window: int = DEFAULT_WINDOW
    ) -> None:
        start = state or TrackerState(highest=max(from_seq - 1, 0))
        self._highest = start.highest
        self._missing = list(start.missing)
        self._recent: deque[str] = deque(start.recent, maxlen=window)
        self._recent_set = set(self._recent)

    @property
    def highest(self) -> int:
        """The highest sequence number accounted for (arrived, or reported missing)."""
        return self._highest

    @property
    def missing(self) -> list[Gap]:
        """The gaps still open: reported and not (yet) filled by late arrivals."""
        return [Gap(a, b) for a, b in self._missing]

    def state(self) -> TrackerState:
        """A snapshot to persist."""
        return TrackerState(self._highest, tuple(self._missing), tuple(self._recent))

    def observe(self, seq: int, alert_id: str) -> list[Outcome]:
        """Classify an alert numbered ``seq``: gaps it reveals, then deliver or drop it."""
        if seq < 1:
            raise ValidationError("sequence numbers start at 1")
        outcomes: list[Outcome] = []
        late = False
        if seq > self._highest:
            outcomes += self._advance_to(seq - 1)
            self._highest = seq
        elif self._take_missing(seq):
            late = True
        else:
            return [Duplicate(seq, alert_id)]
        if alert_id in self._recent_set:
            return [*outcomes, Duplicate(seq, alert_id)]
        self._remember(alert_id)
        return [*outcomes, Delivered(seq, alert_id, late)]

    def observe_heartbeat(self, last_seq: int) -> list[Gap]:
        """A heartbeat says alerts up to ``last_seq`` were sent: report any trailing gap."""
        return self._advance_to(last_seq)

    def _advance_to(self, seq: int) -> list[Gap]:
        if seq <= self._highest:
            return []
        gap = Gap(self._highest + 1, seq)
        self._missing.append((gap.missing_from, gap.missing_to))
        self._highest = seq
        return [gap]

    def _take_missing(self, seq: int) -> bool:
        for index, (low, high) in enumerate(self._missing):
            if low <= seq <= high:
                pieces = [(a, b) for a, b in ((low, seq - 1), (seq + 1, high)) if a <= b]
                self._missing[index : index + 1] = pieces
                return True
        return False

    def _remember(self, alert_id: str) -> None:
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(alert_id)
        self._recent_set.add(alert_id)
