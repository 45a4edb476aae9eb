"""Two-way tables of suppressed counts."""

from __future__ import annotations

import json
from collections import Counter

from hub.board import Table


def test_a_table_has_the_rows_and_columns_counted_with_zeros_shown() -> None:
    table = Table.of(Counter({("police", "reading"): 12, ("education", "slough"): 3}))
    assert table.rows == ("education", "police")
    assert table.columns == ("reading", "slough")
    assert table.at("police", "slough").text == "0"
    assert table.at("education", "slough").text == "<5"
    assert table.row_total("police").text == "12"
    assert table.column_total("slough").text == "<5"
    assert table.grand_total.text == "13\u201316"


def test_rows_and_columns_without_any_count_are_left_out() -> None:
    table = Table.of(Counter({("police", "reading"): 0, ("health", "oxfordshire"): 7}))
    assert (table.rows, table.columns) == (("health",), ("oxfordshire",))


def test_its_json_never_carries_a_hidden_count() -> None:
    table = Table.of(Counter({("a", "x"): 2, ("a", "y"): 9, ("b", "x"): 4}))
    data = table.to_json()
    values = [c["value"] for row in data["cells"] for c in row]
    assert values == [None, 9, None, 0]
    assert data["total"] == {"text": "11\u201317", "value": None}
    assert '"value": 2' not in json.dumps(data)
    assert '"value": 4' not in json.dumps(data)
