"""The sequencer's state: numbers without holes, each alert id numbered once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.alerts.headers import CE_ID, HEARTBEAT_TYPE, SEQ
from hub.errors import DecodeError
from hub.sequencer import PartnershipLog, Pending


def headers(seq: int, alert_id: str) -> list[tuple[str, bytes]]:
    return [(CE_ID, alert_id.encode()), (SEQ, str(seq).encode())]


@given(st.lists(st.sampled_from([f"a{n}" for n in range(12)]), max_size=60))
def test_any_stream_of_ids_is_numbered_once_each_without_gaps(ids: list[str]) -> None:
    log = PartnershipLog()
    numbered = []
    for alert_id in ids:
        seq = log.assign(alert_id)
        if seq is not None:
            log.sent(alert_id, seq)
            numbered.append((seq, alert_id))
    assert [s for s, _ in numbered] == list(range(1, len(numbered) + 1))
    assert sorted(a for _, a in numbered) == sorted(set(ids))


def test_a_rebuilt_log_continues_where_the_topic_ends_and_skips_heartbeats() -> None:
    topic = [
        headers(1, "x"),
        [("ce_type", HEARTBEAT_TYPE.encode()), ("vru-last-seq", b"1")],
        headers(2, "y"),
    ]
    log = PartnershipLog.rebuild(topic)
    assert log.last_seq == 2
    assert log.assign("x") is None
    assert log.assign("z") == 3


def test_pending_round_trips_and_refuses_garbage() -> None:
    pending = Pending("reading", "abc", b"\x00\x01ciphertext", (("ce_id", b"abc"),))
    assert Pending.from_bytes(pending.to_bytes()) == pending
    for bad in (b"", b"{}", b"not json", b'{"partnership": 1}'):
        with pytest.raises(DecodeError):
            Pending.from_bytes(bad)
