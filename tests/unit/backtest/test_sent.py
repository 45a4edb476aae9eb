"""What a run across processes sends each process (:data:`hub.backtest.plan.Sent`): its rows,
and each record they name once, at the index the rows give."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.backtest.plan import TAKEN, Wired
from hub.backtest.shards import _Pending

T = datetime(2026, 3, 1, tzinfo=UTC)


def test_each_record_is_sent_once_at_the_index_its_rows_name() -> None:
    records: list[Wired] = [
        ("police", b"k0", (), b"record 0"),
        ("health", b"k1", (), b"record 1"),
        ("education", b"k2", (), None),
    ]
    pending = _Pending()
    for offset, record in ((1, 1), (2, 2), (3, 1), (4, 1)):  # record 0: another process's
        pending.take(offset, T, f"event {offset}".encode(), record, records)
    sent, rows = pending.sent()
    assert sent == [records[1], records[2]]
    assert all(len(row) == TAKEN for row in rows)
    named = [(offset, sent[index][0], value) for offset, _, value, index in rows]
    assert named == [
        (1, "health", b"event 1"),
        (2, "education", b"event 2"),
        (3, "health", b"event 3"),
        (4, "health", b"event 4"),
    ]
