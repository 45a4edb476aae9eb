"""Reading the SNA counts table's changelog to its end, for a release.

Every partition of ``<app id>-sna-counts-changelog`` is read from the start to its true end
(``hub.transport.topiclog``). A record that does not authenticate, or is not an SNA count, is
refused: logged, counted and alarmed (``hub.refusal``), and counted in the result; the rest
fold into a :class:`hub.sna.snapshot.Snapshot`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hub.config import Settings
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
        """Fold in one changelog record, or refuse it."""
        try:
            self.snapshot.add(record.partition, record.key, record.value)
        except HubError as exc:
            self.refused += 1
            refused(Position(record.topic, record.partition, record.offset), exc)


async def read_counts(settings: Settings, keys: Callable[[str], HmacKey | None]) -> ReadCounts:
    """Every partition of the counts changelog, authenticated under the hub's internal key."""
    found = ReadCounts(Snapshot(keys))
    endpoint = kafka_endpoint(settings)
    for number in range(settings.partitions):
        await read_partition(endpoint, settings.changelog_topic(TABLE), found.visit, number)
    return found
