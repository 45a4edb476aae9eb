"""The SNA rows a record writes carry its position: the offset it was read at, each event's
item index and the record's size (what a release's cut-off and a redelivery go by)."""

from __future__ import annotations

import pytest

from hub.config import Settings
from hub.crypto.tablevalue import value_of
from hub.sna.stream import TABLE as SNA_TABLE
from hub.sna.stream import Tallied
from tests.unit.correlation.builders import (
    Hub,
    assault,
    events,
    in_partition,
    scenario,
    settings_in,
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_in(tmp_path_factory.mktemp("sna-position"))


async def test_a_records_sna_rows_carry_its_offset_items_and_size(settings: Settings) -> None:
    hub = Hub(settings)
    batch = [*scenario(in_partition(0, 1)[0]), assault(77, 3)]
    result = await hub.run(events(batch, offset=41))
    rows = [
        (r.key, Tallied.from_bytes(value_of(r.value).value))
        for r in result.rows
        if r.table == SNA_TABLE
    ]
    assert len(rows) >= 2
    assert {(row.mark.offset, row.mark.size) for _, row in rows} == {(41, len(batch))}
    assert max(row.mark.item for _, row in rows) == len(batch) - 1  # the last event's row
    assert all(value_of(r.value).version == 41 for r in result.rows if r.table == SNA_TABLE)
    for _, row in rows:  # a release below the record counts none of it, at its end all of it
        assert sum(row.below(41).values()) == 0
        assert sum(row.below(42).values()) == row.count
    again = await hub.run(events(batch, offset=41))  # redelivered: counted once, no row moved
    assert [r for r in again.rows if r.table == SNA_TABLE] == []
