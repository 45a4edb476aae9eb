"""The period a backtest covers: whole UTC days, ``--from`` to ``--to`` inclusive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hub.errors import ConfigError


class BacktestInputError(ConfigError):
    """A backtest's input is unusable: a bad date, an empty period, an unreadable file."""

    reason = "backtest_input"


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` in UTC: from the first day's midnight to the midnight after the last."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise BacktestInputError(f"--from {self.first} is after --to {self.last}")

    @classmethod
    def parse(cls, first: str, last: str) -> Period:
        """A period from two ISO dates (``YYYY-MM-DD``); BacktestInputError if either is not."""
        return cls(_day("--from", first), _day("--to", last))

    @property
    def start(self) -> datetime:
        """The first instant inside the period."""
        return datetime.combine(self.first, datetime.min.time(), UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.last + timedelta(days=1), datetime.min.time(), UTC)

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` lies in the period."""
        return self.start <= at < self.end

    def months(self) -> list[date]:
        """The first day of every calendar month the period touches, in order."""
        found, month = [], self.first.replace(day=1)
        while month <= self.last:
            found.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return found


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise BacktestInputError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def month_of(at: datetime) -> str:
    """``YYYY-MM`` of an instant, in UTC: the report's month."""
    utc = at.astimezone(UTC)
    return f"{utc.year}-{utc.month:02d}"  # strftime("%Y-%m"), without its cost per event


class MonthOf:
    """:func:`month_of`, the last month's bounds remembered: a run asks it for every event
    and decision, in time order, so nearly every call is a comparison of two instants."""

    __slots__ = ("_high", "_low", "_text")

    def __init__(self) -> None:
        self._low = self._high = datetime.min.replace(tzinfo=UTC)
        self._text = ""

    def __call__(self, at: datetime) -> str:
        """``YYYY-MM`` of ``at``, in UTC."""
        try:
            if self._low <= at < self._high:
                return self._text
        except TypeError:  # a naive instant: month_of reads it as local time
            return month_of(at)
        utc = at.astimezone(UTC)
        self._low = datetime(utc.year, utc.month, 1, tzinfo=UTC)
        self._high = datetime(utc.year + utc.month // 12, utc.month % 12 + 1, 1, tzinfo=UTC)
        self._text = month_of(utc)
        return self._text
