"""Reading the SNA counts table's changelog to its end, for a release.

Every partition of ``<app id>-sna-counts-changelog`` is read from the start to its true end
(``hub.transport.topiclog``). The worker writes a record's count rows as one packed record
(``hub.crypto.packedrows``); each row in it is checked alone. A row that does not
authenticate, or is not an SNA count, is refused: logged, counted and alarmed
(``hub.refusal``), and counted in the result; the rest fold into a
:class:`hub.sna.snapshot.Snapshot`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hub.config import Settings
from hub.crypto.packedrows import iter_rows
from hub.crypto.secret import HmacKey
from hub.errors import HubError
from hub.refusal import Position, refused
from hub.sna.snapshot import Snapshot
from hub.sna.stream import TABLE
from hub.transport import Record, kafka_endpoint
from hub.transport.topiclog import read_partition


@dataclass(slots=True)
class ReadCounts:
    """The counts read back, and how many changelog records were refused."""

    snapshot: Snapshot
    refused: int = 0

    def visit(self, record: Record) -> None:
        """Fold in one changelog record's rows (a pack's, or the record's own), or refuse them.

        A pack that does not parse is refused whole; a row that does not authenticate alone.
        """
        position = Position(record.topic, record.partition, record.offset)
        try:
            rows = list(iter_rows(record.key, record.value))
        except HubError as exc:
            self.refused += 1
            refused(position, exc)
            return
        for key, value in rows:
            try:
                self.snapshot.add(record.partition, key, value)
            except HubError as exc:
                self.refused += 1
                refused(position, exc)


async def read_counts(settings: Settings, keys: Callable[[str], HmacKey | None]) -> ReadCounts:
    """Every partition of the counts changelog, authenticated under the hub's internal key."""
    found = ReadCounts(Snapshot(keys))
    endpoint = kafka_endpoint(settings)
    for number in range(settings.partitions):
        await read_partition(endpoint, settings.changelog_topic(TABLE), found.visit, number)
    return found
