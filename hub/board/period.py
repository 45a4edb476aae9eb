"""The period the board looks at: whole UTC days, both ends included, either end open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

#: Presets offered by the dashboard's period chooser: name -> days back from today.
PRESETS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "365d": 365, "all": None}


@dataclass(frozen=True, slots=True)
class Period:
    """Days ``start`` to ``end`` (UTC, inclusive); None leaves that end open."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> Period:
        """From ``YYYY-MM-DD`` texts (empty or None: open); ValueError when malformed."""
        return cls(_day(start), _day(end))

    @classmethod
    def preset(cls, name: str, today: date) -> Period:
        """The last N days up to ``today`` (``7d``, ``30d``, ...), or ``all``."""
        if name not in PRESETS:
            raise ValueError(f"unknown period {name!r}; one of {', '.join(PRESETS)}")
        days = PRESETS[name]
        return cls() if days is None else cls(today - timedelta(days=days - 1), today)

    def contains(self, at: datetime) -> bool:
        """Whether a moment falls on a day of the period (its UTC date)."""
        day = at.astimezone(UTC).date()
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    @property
    def label(self) -> str:
        """``2026-11-01 to 2026-11-30``, ``from ...``, ``up to ...`` or ``all time``."""
        if self.start and self.end:
            return f"{self.start.isoformat()} to {self.end.isoformat()}"
        if self.start:
            return f"from {self.start.isoformat()}"
        if self.end:
            return f"up to {self.end.isoformat()}"
        return "all time"


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from exc
