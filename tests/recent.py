"""Test data dated relative to the run, never to a calendar date the suite will pass by.

The shared police month (June 2018) and dates written into test files would age out of the
hub's bounds (events over ten years old are refused, rule windows are 14 to 90 days before
the hub's clock). Tests that replay them move them here first.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
POLICE_CSV = SHARED / "data" / "police" / "2018-06-thames-valley-street.csv"

#: Four months back: the police month ends at least 90 days before the run, and the partner
#: events drawn near it (up to 60 days after) are still in the past.
MONTHS_BACK = 4


def month_start(months_back: int, today: date | None = None) -> date:
    """The first day of the month ``months_back`` months before the one ``today`` is in."""
    day = today or datetime.now(UTC).date()
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def police_head(dest: Path, lines: int, months_back: int = MONTHS_BACK) -> Path:
    """The shared police CSV's first ``lines`` lines (header included) at ``dest``, with every
    row's ``Month`` set to ``months_back`` months before this one."""
    month = month_start(months_back).strftime("%Y-%m")
    with POLICE_CSV.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        rows = [row | {"Month": month} for row in islice(reader, lines - 1)]
    with dest.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames or [])
        writer.writeheader()
        writer.writerows(rows)
    return dest
