"""The de-duplication table: one row per feed record, an index rebuilt from the rows."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.seen import SeenEvents, _split


def test_a_record_is_stored_as_one_row_of_its_accepted_events() -> None:
    rows: dict[str, str] = {}
    seen = SeenEvents(rows)
    seen["e1"] = "feed:0:5:0"
    seen["e2"] = "feed:0:5:3"
    assert seen["e2"] == "feed:0:5:3"  # visible before the commit: a copy in the same batch
    assert rows == {}
    seen.commit()
    assert rows == {"feed:0:5": "e1 0\ne2 3"}
    seen["e3"] = "feed:1:9"
    seen.commit()
    assert rows["feed:1:9"] == "e3 -"


def test_the_index_is_rebuilt_from_rows_written_elsewhere() -> None:
    rows = {"feed:0:5": "e1 0\ne2 3", "feed:1:9": "e3 -"}
    seen = SeenEvents(rows)
    seen.refresh()
    assert dict(seen) == {"e1": "feed:0:5:0", "e2": "feed:0:5:3", "e3": "feed:1:9"}
    rows["feed:2:1"] = "e4 1"  # recovery after a rebalance adds rows behind its back
    seen.refresh()
    assert "e4" not in seen  # nothing said the table changed
    seen.invalidate()  # the table's recovery-completed hook
    seen.refresh()
    assert seen["e4"] == "feed:2:1:1"
    assert seen.rebuilds == 2


def test_its_own_writes_do_not_cost_a_rebuild() -> None:
    rows: dict[str, str] = {}
    seen = SeenEvents(rows)
    for offset in range(50):
        seen.refresh()
        seen[f"e{offset}"] = f"feed:0:{offset}:0"
        seen.commit()
    assert seen.rebuilds == 1  # the first, before any record
    assert len(rows) == 50


def test_rows_of_the_per_event_format_are_still_read() -> None:
    rows = {"0190a1b2-0000-7000-8000-000000000001": "feed:3:12"}
    seen = SeenEvents(rows)
    seen.refresh()
    assert seen["0190a1b2-0000-7000-8000-000000000001"] == "feed:3:12"


def test_a_redelivery_that_accepts_fewer_events_keeps_the_row_whole() -> None:
    rows = {"feed:0:5": "e1 0\ne2 3"}
    seen = SeenEvents(rows)
    seen.refresh()
    seen["e2"] = "feed:0:5:3"  # the same record again; e1 is refused this time (too old by now)
    seen.commit()
    assert rows == {"feed:0:5": "e1 0\ne2 3"}
    rebuilt = SeenEvents(rows)
    rebuilt.refresh()
    assert dict(rebuilt) == {"e1": "feed:0:5:0", "e2": "feed:0:5:3"}


def test_get_answers_a_miss_with_the_default_and_a_hit_with_the_position() -> None:
    seen = SeenEvents({"feed:0:3": "e1 -"})
    seen.refresh()
    seen["e2"] = "feed:0:4:1"
    assert seen.get("e1") == "feed:0:3"
    assert seen.get("e2") == "feed:0:4:1"
    assert seen.get("e3") is None
    assert seen.get("e3", "none") == "none"


def test_a_record_quarantined_whole_is_forgotten_and_stays_forgotten_after_a_rebuild() -> None:
    rows = {"feed:0:5": "e1 0\ne2 3", "feed:0:7": "e3 -"}
    seen = SeenEvents(rows)
    seen.refresh()
    seen["e4"] = "feed:0:5:4"  # this delivery's, not yet committed
    seen.forget("feed:0:5")
    assert dict(seen) == {"e3": "feed:0:7"}  # the other record's event keeps its position
    assert rows == {"feed:0:5": "", "feed:0:7": "e3 -"}  # emptied, never deleted
    seen.commit()
    assert rows["feed:0:5"] == ""  # the forgotten pending line is not stored by a later commit
    rebuilt = SeenEvents(rows)
    rebuilt.refresh()
    assert dict(rebuilt) == {"e3": "feed:0:7"}
    seen["e1"] = "feed:0:9:0"  # its redrive, from another position: accepted, no duplicate
    seen.commit()
    assert rows["feed:0:9"] == "e1 0"


def test_forgetting_a_record_leaves_an_event_another_record_accepted_first() -> None:
    rows = {"feed:0:1": "e1 -", "feed:0:5": "e1 0"}  # e1 first at offset 1 (setdefault keeps it)
    seen = SeenEvents(rows)
    seen.refresh()
    seen.forget("feed:0:5")
    assert seen["e1"] == "feed:0:1"
    seen.forget("feed:0:8")  # a record that stored nothing: no row written for it
    assert "feed:0:8" not in rows


def test_held_rows_are_read_back_as_stored_and_handed_over_once() -> None:
    rows = {"feed:0:5": "e1 0"}
    seen = SeenEvents(rows)
    seen.refresh()
    seen.hold()
    seen["e2"] = "feed:0:5:3"  # a redelivery of a stored record, accepting one more event
    seen.commit()
    seen["e3"] = "feed:1:9"
    seen.commit()
    seen["e4"] = "feed:1:9"  # the same record committed twice while held: one row, both
    seen.commit()
    assert rows == {"feed:0:5": "e1 0"}  # nothing stored while held
    assert seen.unstored() == {"feed:0:5": "e1 0\ne2 3", "feed:1:9": "e3 -\ne4 -"}
    assert seen.unstored() == {}  # handed over once; commits store at once again
    seen["e5"] = "feed:2:1"
    seen.commit()
    assert rows["feed:2:1"] == "e5 -"


def test_held_rows_dropped_unstored_leave_the_index_as_the_stored_rows_say() -> None:
    rows = {"feed:0:5": "e1 0"}
    seen = SeenEvents(rows)
    seen.refresh()
    seen.hold()
    seen["e1"] = "feed:0:5:0"
    seen["e2"] = "feed:0:5:3"
    seen.commit()
    seen["e3"] = "feed:1:9"
    seen.commit()
    seen.drop_unstored()  # the group failed before its rows were stored
    assert dict(seen) == {"e1": "feed:0:5:0"}  # the stored row's event is still known
    assert rows == {"feed:0:5": "e1 0"}
    seen["e3"] = "feed:1:9"  # processed again (alone), stored at once
    seen.commit()
    assert rows["feed:1:9"] == "e3 -"


def test_forgetting_a_held_record_empties_its_row() -> None:
    rows: dict[str, str] = {}
    seen = SeenEvents(rows)
    seen.hold()
    seen["e1"] = "feed:0:5:0"
    seen.commit()
    seen.forget("feed:0:5")
    assert "e1" not in seen
    assert rows == {"feed:0:5": ""}
    assert seen.unstored() == {}


@settings(max_examples=300)
@given(position=st.text(alphabet="ab:0-", max_size=14))
def test_a_position_splits_as_rsplit_into_four_did(position: str) -> None:
    """``_split`` (one ``rpartition``) splits every position as ``rsplit(":", 3)`` did."""
    parts = position.rsplit(":", 3)
    expected = (":".join(parts[:3]), parts[3]) if len(parts) == 4 else (position, "-")
    assert _split(position) == expected


def test_adding_a_batch_event_is_setting_its_position() -> None:
    """``add`` (the record and index already known) leaves what ``seen[id] = position``
    leaves: the same index at once and the same row after the commit."""
    by_set, by_add = SeenEvents({}), SeenEvents({})
    rows_set, rows_add = by_set._rows, by_add._rows
    for index, event_id in enumerate(["e1", "e2", "e3"]):
        by_set[event_id] = f"feed:0:5:{index}"
        by_add.add(event_id, "feed:0:5", index, f"feed:0:5:{index}")
        assert by_add[event_id] == by_set[event_id] == f"feed:0:5:{index}"
    by_set.commit()
    by_add.commit()
    assert rows_add == rows_set == {"feed:0:5": "e1 0\ne2 1\ne3 2"}
