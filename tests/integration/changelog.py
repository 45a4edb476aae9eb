"""A table changelog as rows: a packed record's rows (``hub.crypto.packedrows``), or itself.

The worker writes the rows one record sets as one packed changelog record, so a test that
looks for a row's values reads the changelog through :func:`changelog_rows`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hub.crypto.packedrows import iter_rows


@dataclass(frozen=True, slots=True)
class ChangelogRow:
    """One row of a changelog record: where the record was, the row's key and sealed value."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None = field(repr=False)


def changelog_rows(records: Iterable[Any]) -> list[ChangelogRow]:
    """Every row the ``records`` carry, in order (a pack that does not parse raises)."""
    return [
        ChangelogRow(r.partition, r.offset, key, value)
        for r in records
        for key, value in iter_rows(r.key, r.value)
    ]
