"""The worker's consumer keeps no read offset for stream partitions (agents/transport.py).

faust drops a fetched record at or below a partition's read offset as "already read" and lets
its offset commit skip the gap. For a stream partition that lost a feed record after a seek
(docs/state-recovery.md, 2026-12-05), so stream partitions never have one; changelog
partitions keep theirs.
"""

from __future__ import annotations

from aiokafka import TopicPartition

from agents.transport import StreamReadOffsets

FEED = TopicPartition("vru.feed.police", 1)
CHANGELOG = TopicPartition("vru-hub-subjects-changelog", 1)


def test_a_stream_partition_never_has_a_read_offset() -> None:
    offsets = StreamReadOffsets()
    offsets[FEED] = 4
    offsets.update({FEED: 7})
    assert offsets[FEED] is None
    assert offsets[TopicPartition("vru.accepted", 0)] is None  # never set: None, as in faust


def test_a_changelog_partition_keeps_its_read_offset() -> None:
    offsets = StreamReadOffsets()
    offsets[CHANGELOG] = 4
    assert offsets[CHANGELOG] == 4
    offsets.update({CHANGELOG: 9, FEED: 3})
    assert (offsets[CHANGELOG], offsets[FEED]) == (9, None)
