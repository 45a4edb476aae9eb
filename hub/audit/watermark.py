"""Replay's check of each decision's consent watermark against the consent feeds themselves.

A decision that could disclose on consent records how far its worker had read the consent
feeds (``consent_read.watermark``) and the ends (withdrawals, expiries) in the subject's
consent state (``consent_read.ends``). Given those feeds, replay reads them as a worker does:
every claimed end is authenticated exactly as the worker's follower authenticates it
(:class:`~hub.consent.watch.WithdrawalWatch`, the ingest checks); one that does not is
ignored and counted (``refused_ends``). Then, for each decision re-derived (``docs/audit.md``):

- **complete**: every authenticated end of the subject read at a feed position below the
  watermark is among its ends (else a mismatch naming the missing end);
- **nothing from beyond**: each of its ends is on the accepted topic at or before the
  decision, or on a feed below the watermark (a decision without a watermark: on a feed);
- **a permit on consent has a watermark**: one whose events a consent permitted.

Feeds keep records for the transit retention only (``HUB_TRANSIT_RETENTION_DAYS``). A feed
partition whose retained records do not start at offset 0 (trimmed), or stop short of the
watermark, cannot prove completeness: the decision is counted as not checkable there (never
a false mismatch), while every end still retained below the watermark is still required.

Pure: feed records come in as :class:`~hub.ingest.FeedMessage` values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.audit.history import History
from hub.audit.mismatch import Mismatch
from hub.consent.watch import FeedPartition, WithdrawalWatch
from hub.dispatch import DecisionRecord, Position
from hub.errors import UnauthenticatedWithdrawalError
from hub.ingest import FeedMessage

ENDS = "consent_read.ends"
WATERMARK = "consent_read.watermark"
TRIMMED = "feed trimmed"
SHORT = "feed read short of the watermark"


@dataclass(slots=True)
class WatermarkCheck:
    """The consent feeds as replay read them, and the check of each decision against them."""

    watch: WithdrawalWatch
    spans: dict[FeedPartition, tuple[int, int]] = field(default_factory=dict)
    """Per feed partition: the first offset retained and the next offset after the last."""
    records: int = 0
    refused_ends: int = 0
    checked: int = 0
    unchecked: int = 0
    unchecked_feeds: set[tuple[str, int, str]] = field(default_factory=set)

    def read(self, message: FeedMessage) -> None:
        """One consent feed record (each partition in offset order)."""
        source = message.source
        key = (source.topic, source.partition)
        first = self.spans.get(key, (source.offset, 0))[0]
        self.spans[key] = (first, source.offset + 1)
        self.records += 1
        try:
            self.watch.read(message)
        except UnauthenticatedWithdrawalError:
            self.refused_ends += 1  # never applied by a worker either

    def check(
        self, recorded: DecisionRecord, derived: DecisionRecord, token: str, history: History
    ) -> list[Mismatch]:
        """The mismatches of one entry: ``recorded`` as in the ledger, ``derived`` by replay.

        What was read comes from the record; whether a consent permitted comes from replay.
        ``token`` is the subject's linkage token (from the entry's accepted events).
        """
        read = recorded.consent_read
        watermark = {(m.topic, m.partition): m.offset for m in read.watermark} if read else {}
        listed = frozenset(read.ends) if read else frozenset()
        found = self._unapplied(recorded, token, watermark, listed)
        found += self._unfounded(recorded, token, watermark, history)
        if not watermark and _permitted_on_consent(derived):
            found.append(
                Mismatch(recorded.decision_id, WATERMARK, [], "a watermark: a consent permitted")
            )
        if watermark:
            self._note_checkable(watermark)
        return found

    def _unapplied(
        self,
        recorded: DecisionRecord,
        token: str,
        watermark: Mapping[FeedPartition, int],
        listed: frozenset[str],
    ) -> list[Mismatch]:
        """Authenticated ends of the subject below the watermark that the decision left out."""
        missing = []
        for end in self.watch.ends_for(token):
            where = self.watch.where(end.event_id)
            if end.event_id in listed or not self.watch.below(end.event_id, watermark):
                continue
            (topic, partition), offset = where or (("", 0), 0)
            detail = f"{end.event_id} at {topic}:{partition}:{offset}, below the watermark"
            missing.append(Mismatch(recorded.decision_id, ENDS, sorted(listed), detail))
        return missing

    def _unfounded(
        self,
        recorded: DecisionRecord,
        token: str,
        watermark: Mapping[FeedPartition, int],
        history: History,
    ) -> list[Mismatch]:
        """Listed ends that are neither before the decision nor below its watermark."""
        found = []
        for event_id in recorded.consent_read.ends if recorded.consent_read else ():
            if _accepted_before(history, token, event_id, recorded.position):
                continue
            where = self.watch.where(event_id)
            if where is not None and (not watermark or self.watch.below(event_id, watermark)):
                continue
            if where is None and self._trimmed(watermark):
                continue  # it may have been on the part of a feed retention removed
            detail = "neither on the accepted topic before the decision nor below the watermark"
            found.append(Mismatch(recorded.decision_id, ENDS, event_id, detail))
        return found

    def _trimmed(self, watermark: Mapping[FeedPartition, int]) -> bool:
        partitions = watermark or self.spans
        return any(self.spans.get(tp, (1, 0))[0] > 0 for tp in partitions)

    def _note_checkable(self, watermark: Mapping[FeedPartition, int]) -> None:
        gaps = set()
        for (topic, partition), offset in watermark.items():
            first, after = self.spans.get((topic, partition), (offset, 0))
            if offset > 0 and first > 0:
                gaps.add((topic, partition, TRIMMED))
            elif after < offset:
                gaps.add((topic, partition, SHORT))
        self.unchecked_feeds |= gaps
        if gaps:
            self.unchecked += 1
        else:
            self.checked += 1

    def counted(self) -> WatermarkCounts:
        """What the check counted, as plain values (a shard of a sharded replay)."""
        return WatermarkCounts(
            self.records, self.refused_ends, self.checked, self.unchecked, set(self.unchecked_feeds)
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data for the replay report."""
        return self.counted().to_json()


@dataclass(slots=True)
class WatermarkCounts:
    """A watermark check's counts: the feeds read, and the decisions checked or not."""

    records: int = 0
    refused_ends: int = 0
    checked: int = 0
    unchecked: int = 0
    unchecked_feeds: set[tuple[str, int, str]] = field(default_factory=set)

    def merge(self, other: WatermarkCounts) -> WatermarkCounts:
        """These counts and another shard's, over the same feeds (read by each shard)."""
        return WatermarkCounts(
            other.records,
            other.refused_ends,
            self.checked + other.checked,
            self.unchecked + other.unchecked,
            self.unchecked_feeds | other.unchecked_feeds,
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data for the replay report."""
        return {
            "feed_records": self.records,
            "refused_ends": self.refused_ends,
            "checked": self.checked,
            "not_checkable": self.unchecked,
            "not_checkable_feeds": [
                {"topic": t, "partition": p, "reason": r}
                for t, p, r in sorted(self.unchecked_feeds)
            ],
        }


def _accepted_before(
    history: History, token: str, event_id: str, position: Position | None
) -> bool:
    found = history.consent_located(token, event_id)
    return (
        found is not None
        and position is not None
        and found.partition == position.partition
        and found.offset <= position.offset
    )


def _permitted_on_consent(record: DecisionRecord) -> bool:
    return record.outcome == "permit" and any(
        d.permitted and d.consent_id is not None for d in record.decisions
    )
