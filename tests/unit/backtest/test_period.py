"""The report's month of an instant: the remembered month agrees with month_of everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hub.backtest.period import MonthOf, month_of


def test_the_remembered_month_is_month_of_across_boundaries_and_offsets() -> None:
    months = MonthOf()
    plus_one = timezone(timedelta(hours=1))
    instants = [
        datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 31, 23, 59, tzinfo=UTC),
        datetime(2026, 2, 1, 0, 30, tzinfo=plus_one),  # 31 January in UTC
        datetime(2026, 2, 1, 1, 0, tzinfo=plus_one),  # 1 February in UTC
        datetime(2025, 11, 15, tzinfo=UTC),  # back in time
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    ]
    assert [months(at) for at in instants] == [month_of(at) for at in instants]
    assert [months(at) for at in instants[:5]] == [
        "2025-12",
        "2026-01",
        "2026-01",
        "2026-01",
        "2026-02",
    ]


def test_a_naive_instant_is_read_as_month_of_reads_it() -> None:
    months = MonthOf()
    months(datetime(2026, 3, 10, tzinfo=UTC))
    naive = datetime(2026, 3, 10, 12)  # noqa: DTZ001  # the naive instant under test
    assert months(naive) == month_of(naive)
