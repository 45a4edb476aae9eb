"""The sequencer's state: numbers without holes, each alert id numbered once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.alerts import AlertRecord, Unnumbered, heartbeat, number_alert
from hub.alerts.headers import (
    CE_ID,
    CE_SOURCE,
    CE_SPECVERSION,
    CE_TIME,
    CE_TYPE,
    HUB_KEY,
    PARTNERSHIP,
    SEQ,
    SIGNATURE,
    SPEC_VERSION,
    source_of,
)
from hub.crypto import SigningKey, VerifyKey
from hub.errors import (
    BadSignatureError,
    DecodeError,
    HubError,
    MalformedAlertError,
    MisdirectedAlertError,
    UnknownKeyError,
)
from hub.sequencer import PartnershipLog, Pending, verified_meta

HUB = SigningKey.from_raw(b"\x01" * 32)
OTHER = SigningKey.from_raw(b"\x02" * 32)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def hub_key(key_id: str) -> VerifyKey | None:
    return HUB.verify_key if key_id == HUB.key_id else None


def alert(
    seq: int, alert_id: str, partnership: str = "reading", key: SigningKey = HUB
) -> AlertRecord:
    headers = (
        (CE_SPECVERSION, SPEC_VERSION.encode()),
        (CE_ID, alert_id.encode()),
        (CE_TYPE, b"vru.flag.raised"),
        (CE_SOURCE, source_of(partnership).encode()),
        (CE_TIME, b"2026-11-01T00:00:00.000Z"),
        (PARTNERSHIP, partnership.encode()),
    )
    return number_alert(Unnumbered(alert_id.encode(), b"sealed", headers), seq, key)


def unsigned(seq: bytes, alert_id: str) -> AlertRecord:
    """What an attacker without the hub key writes: the headers, any signature."""
    signed = alert(1, alert_id)
    headers = tuple((n, seq if n == SEQ else v) for n, v in signed.headers)
    return AlertRecord(signed.key, signed.value, headers)


def rebuilt(records: list[AlertRecord]) -> tuple[PartnershipLog, list[str]]:
    metas, refused = [], []
    for record in records:
        try:
            metas.append(verified_meta(record, "reading", hub_key))
        except HubError as exc:
            refused.append(exc.reason)
    return PartnershipLog.rebuild(metas), refused


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
    topic = [alert(1, "x"), heartbeat("reading", 1, NOW, HUB), alert(2, "y")]
    log, refused = rebuilt(topic)
    assert refused == []
    assert log.last_seq == 2
    assert log.assign("x") is None
    assert log.assign("z") == 3


def test_forged_records_change_neither_numbering_nor_the_ids_seen() -> None:
    forged_seq = unsigned(b"1000", "f1")  # the seq header rewritten: the signature fails
    bad_seq = unsigned(b"x", "f2")  # not a number at all: refused, never int()-ed
    other_key = alert(1001, "f3", key=OTHER)
    elsewhere = alert(5, "f4", partnership="wokingham")
    topic = [alert(1, "x"), forged_seq, bad_seq, other_key, elsewhere, alert(2, "y")]
    log, refused = rebuilt(topic)
    assert (log.last_seq, log.alert_ids) == (2, {"x", "y"})
    assert refused == [
        BadSignatureError.reason,
        MalformedAlertError.reason,
        UnknownKeyError.reason,
        MisdirectedAlertError.reason,
    ]


def test_a_record_without_headers_or_signature_is_refused() -> None:
    bare = AlertRecord(b"k", b"v", ((SEQ, b"1000"), (CE_ID, b"k")))
    stripped = AlertRecord(
        alert(3, "z").key, b"v", tuple(h for h in alert(3, "z").headers if h[0] != SIGNATURE)
    )
    wrong_key_id = AlertRecord(
        b"a", b"v", tuple((n, b"0" * 16 if n == HUB_KEY else v) for n, v in alert(3, "a").headers)
    )
    _, refused = rebuilt([bare, stripped, wrong_key_id])
    assert refused == [
        MalformedAlertError.reason,
        MalformedAlertError.reason,
        UnknownKeyError.reason,
    ]


def test_pending_round_trips_and_refuses_garbage() -> None:
    pending = Pending("reading", "abc", b"\x00\x01ciphertext", (("ce_id", b"abc"),))
    assert Pending.from_bytes(pending.to_bytes()) == pending
    for bad in (b"", b"{}", b"not json", b'{"partnership": 1}'):
        with pytest.raises(DecodeError):
            Pending.from_bytes(bad)
