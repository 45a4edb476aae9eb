"""Record batches no Kafka client can decode must not stop the hub's readers.

aiokafka decodes every record's header names as UTF-8 while it unpacks a fetched batch. A
record whose header name is not UTF-8 is accepted by the broker (the embedded one at least),
and then every aiokafka consumer of its partition raises on every fetch and never moves past
it: one record would stop a worker, a follower and a partnership's reader for ever.

:func:`tolerate_unreadable_batches` makes the consumer give up on the rest of such a batch
instead (a producer's batch is its own: an attacker cannot put a record into a genuine
producer's batch), refusing it with ``hub.refusal`` (reason ``unreadable_batch``, the offsets
given up). In place of each record given up it yields an empty one (no key, no value, no
headers) at that offset, so whoever counts offsets (faust's table recovery waits for the last
one) still reaches the end, and every reader refuses the empty record as it refuses any
record that is not the hub's. Batches whose CRC fails are left to aiokafka, which fetches
them again. The patch touches one constructor of aiokafka 0.14's fetcher, the version the
project pins.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka.consumer import fetcher

from hub.errors import UnreadableBatchError
from hub.refusal import Position, refused

_INSTALLED = "_vru_hub_tolerant"


@dataclass(frozen=True, slots=True)
class _Empty:
    """The stand-in for a record that could not be decoded: its offset and time, nothing else."""

    offset: int
    timestamp: int
    timestamp_type: int = 0
    key: None = None
    value: None = None
    checksum: None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class _TolerantBatch:
    """A fetched batch whose records stop, refused, at the first one that cannot be decoded."""

    def __init__(self, batch: Any, tp: Any) -> None:
        self._batch = batch
        self._tp = tp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batch, name)

    def __next__(self) -> Any:
        return next(self._batch)

    def __iter__(self) -> Iterator[Any]:
        records = iter(self._batch)
        last = self._batch.base_offset - 1
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001  # any decoding failure: give up the batch's rest
                end = self._batch.next_offset
                error = UnreadableBatchError(last + 1, end, type(exc).__name__)
                refused(Position(self._tp.topic, self._tp.partition, last + 1), error)
                stamp = int(getattr(self._batch, "first_timestamp", 0) or 0)
                yield from (_Empty(offset, stamp) for offset in range(last + 1, end))
                return
            last = record.offset
            yield record


class _TolerantRecords:
    """The fetched records of one partition, batch by batch, each made tolerant."""

    def __init__(self, records: Any, tp: Any) -> None:
        self._records = records
        self._tp = tp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._records, name)

    def has_next(self) -> bool:
        return bool(self._records.has_next())

    def next_batch(self) -> Any:
        batch = self._records.next_batch()
        return None if batch is None else _TolerantBatch(batch, self._tp)


def tolerate_unreadable_batches() -> None:
    """Install the tolerant unpacking in this process (idempotent)."""
    cls = fetcher.PartitionRecords
    if getattr(cls, _INSTALLED, False):
        return
    original = cls.__init__

    def __init__(self: Any, tp: Any, records: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807  # replaces a constructor
        original(self, tp, _TolerantRecords(records, tp), *args, **kwargs)

    cls.__init__ = __init__
    setattr(cls, _INSTALLED, True)
