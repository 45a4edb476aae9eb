"""``AlertReader``: a partnership's alert stream, verified, decrypted and de-duplicated.

Each record is verified against the hub's keys before anything else; a record that fails is
yielded as :class:`Rejected` (its offset and error class, never its content) and never
delivered. Heartbeats and alerts go through a :class:`StreamTracker`: gaps are yielded as
:class:`Gap`, duplicates are dropped and counted. Alerts numbered below ``from_seq`` are
skipped after verification and before decryption.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from hub.alerts import Heartbeat, OpenedAlert, open_verified, verify_record
from hub.config import Settings
from hub.errors import CryptoError, SchemaError
from hub.partnership.keys import PartnershipKeys
from hub.partnership.source import Positioned, ReadOptions, read_records
from hub.partnership.tracker import Delivered, Gap, StreamTracker


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record at ``offset`` that failed verification, addressing, decryption or parsing."""

    offset: int
    error: str
    reason: str


StreamItem = OpenedAlert | Heartbeat | Gap | Rejected


@dataclass(slots=True)
class ReaderStats:
    """Counts of what the reader saw, for a summary line."""

    delivered: int = 0
    duplicates: int = 0
    skipped: int = 0
    gaps: int = 0
    rejected: int = 0
    heartbeats: int = 0
    next_offset: int = 0
    by_error: dict[str, int] = field(default_factory=dict)


class AlertReader:
    """Async iterator over one partnership's alerts from a sequence number on."""

    def __init__(
        self,
        settings: Settings,
        keys: PartnershipKeys,
        *,
        from_seq: int = 1,
        options: ReadOptions | None = None,
        tracker: StreamTracker | None = None,
    ) -> None:
        self._settings = settings
        self._keys = keys
        self._from_seq = from_seq
        self._options = options or ReadOptions()
        self.tracker = tracker or StreamTracker(from_seq=from_seq)
        self.stats = ReaderStats(next_offset=self._options.start_offset)

    def __aiter__(self) -> AsyncIterator[StreamItem]:
        return self._items()

    async def _items(self) -> AsyncIterator[StreamItem]:
        source = read_records(self._settings, self._keys.partnership_id, self._options)
        async for positioned in source:
            for item in self._classify(positioned):
                yield item
            self.stats.next_offset = positioned.offset + 1

    def _classify(self, positioned: Positioned) -> list[StreamItem]:
        try:
            opened = self._open(positioned)
        except (CryptoError, SchemaError) as exc:
            self.stats.rejected += 1
            name = type(exc).__name__
            self.stats.by_error[name] = self.stats.by_error.get(name, 0) + 1
            return [Rejected(positioned.offset, name, exc.reason)]
        if opened is None:
            self.stats.skipped += 1
            return []
        if isinstance(opened, Heartbeat):
            self.stats.heartbeats += 1
            return [*self._count_gaps(self.tracker.observe_heartbeat(opened.last_seq)), opened]
        return self._track(opened)

    def _open(self, positioned: Positioned) -> OpenedAlert | Heartbeat | None:
        record = positioned.record
        meta = verify_record(record, self._keys.hub)
        if not meta.is_heartbeat and meta.seq is not None and meta.seq < self._from_seq:
            return None
        return open_verified(record, meta, self._keys.partnership_id, self._keys.hpke)

    def _track(self, opened: OpenedAlert) -> list[StreamItem]:
        items: list[StreamItem] = []
        for outcome in self.tracker.observe(opened.seq, opened.alert_id):
            if isinstance(outcome, Gap):
                items += self._count_gaps([outcome])
            elif isinstance(outcome, Delivered):
                self.stats.delivered += 1
                items.append(opened)
            else:
                self.stats.duplicates += 1
        return items

    def _count_gaps(self, gaps: list[Gap]) -> list[Gap]:
        self.stats.gaps += len(gaps)
        return gaps
