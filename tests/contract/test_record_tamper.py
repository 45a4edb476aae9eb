"""Tamper probes on the authenticated internal record (``hub.crypto.record``, ``hub.crypto.trust``).

A genuine record opens where it was written, and only there. Each probe alters one thing and
must be refused with the reason a reader logs and counts:

- every byte flipped, anywhere (body or tag): ``bad_signature`` or ``malformed_record``;
- truncated at any length, or extended: ``malformed_record`` or ``bad_signature``;
- copied to another partition, or to another topic: ``bad_signature``;
- a kind the topic never carries: ``unexpected_kind``;
- a MACed kind passed off with a signature's length, or the other way round: ``malformed_record``;
- MACed or signed by a key the reader does not hold: ``unknown_key``; a key id pointing at a
  trusted key over a tag made by another: ``bad_signature``;
- a key used outside its window at the record's own time: ``key_expired``, ``key_not_yet_valid``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.crypto import HmacKey, SigningKey
from hub.crypto.record import Kind, Place, encode_body, parse, statement
from hub.crypto.trust import RecordVerifier, TrustedKeys, Window, seal_record
from hub.errors import CryptoError

INTERNAL = HmacKey(b"\x11" * 32)
OTHER_INTERNAL = HmacKey(b"\x12" * 32)
HUB = SigningKey.from_raw(b"\x21" * 32)
GOVERNANCE = SigningKey.from_raw(b"\x31" * 32)
OTHER = SigningKey.from_raw(b"\x41" * 32)
AT = datetime(2026, 11, 24, 12, 0, 0, 123_000, tzinfo=UTC)
HERE = Place("vru.accepted", 1)
ACCEPTED = (Kind.EVENTS, Kind.TICK, Kind.SWITCH)


def verifier(window: Window | None = None) -> RecordVerifier:
    window = window or Window()
    return RecordVerifier(
        TrustedKeys(
            internal={INTERNAL.key_id: (INTERNAL, window)},
            hub={HUB.key_id: (HUB.verify_key, window)},
            governance={GOVERNANCE.key_id: (GOVERNANCE.verify_key, window)},
        )
    )


def reason(value: bytes, place: Place = HERE, kinds: tuple[Kind, ...] = ACCEPTED) -> str:
    with pytest.raises(CryptoError) as info:
        verifier().open(value, place, kinds)
    return info.value.reason


EVENTS = seal_record(Kind.EVENTS, AT, (b"event one", b"", b"event three"), HERE, INTERNAL)
SWITCH = seal_record(Kind.SWITCH, AT, (b'{"sequence":4}',), HERE, GOVERNANCE)


def test_genuine_records_open_where_they_were_written() -> None:
    events = verifier().open(EVENTS, HERE, ACCEPTED)
    assert (events.kind, events.items, events.at) == (
        Kind.EVENTS,
        (b"event one", b"", b"event three"),
        AT,
    )
    assert events.key_id == INTERNAL.key_id
    switch = verifier().open(SWITCH, HERE, ACCEPTED)
    assert (switch.kind, switch.items) == (Kind.SWITCH, (b'{"sequence":4}',))
    tick = seal_record(Kind.TICK, AT, (), HERE, INTERNAL)
    assert verifier().open(tick, HERE, ACCEPTED).items == ()
    decisions = seal_record(Kind.DECISIONS, AT, (b"d1", b"d2"), Place("vru.d", 0), HUB)
    assert verifier().open(decisions, Place("vru.d", 0), (Kind.DECISIONS,)).items == (b"d1", b"d2")


@pytest.mark.parametrize("record", [EVENTS, SWITCH], ids=["mac", "signature"])
def test_every_flipped_byte_is_refused(record: bytes) -> None:
    for position in range(len(record)):
        for bit in (0x01, 0x80):
            tampered = bytearray(record)
            tampered[position] ^= bit
            assert reason(bytes(tampered)) in {"bad_signature", "malformed_record", "unknown_key"}


@pytest.mark.parametrize("record", [EVENTS, SWITCH], ids=["mac", "signature"])
def test_truncated_or_extended_records_are_refused(record: bytes) -> None:
    for length in range(len(record)):
        assert reason(record[:length]) in {"malformed_record", "bad_signature"}
    assert reason(record + b"\x00") == "malformed_record"


@pytest.mark.parametrize("record", [EVENTS, SWITCH], ids=["mac", "signature"])
def test_a_genuine_record_moved_elsewhere_is_refused(record: bytes) -> None:
    assert reason(record, Place("vru.accepted", 0)) == "bad_signature"
    assert reason(record, Place("other.accepted", 1)) == "bad_signature"
    assert reason(record, Place("vru.accepted", 2**31)) == "bad_signature"


def test_a_kind_the_topic_never_carries_is_refused_before_its_tag() -> None:
    assert reason(EVENTS, kinds=(Kind.DECISIONS,)) == "unexpected_kind"
    outbox = seal_record(Kind.ALERTS, AT, (b"a",), HERE, INTERNAL)
    assert reason(outbox) == "unexpected_kind"


def test_a_mac_where_a_signature_is_required_does_not_even_parse() -> None:
    body = encode_body(Kind.SWITCH, AT, INTERNAL.key_id, (b'{"sequence":9}',))
    mac = INTERNAL.mac(statement(HERE, body))
    assert reason(body + mac) == "malformed_record"  # 32 bytes where 64 are due
    signed_events = encode_body(Kind.EVENTS, AT, HUB.key_id, (b"e",))
    assert reason(signed_events + HUB.sign(statement(HERE, signed_events))) == "malformed_record"
    with pytest.raises(ValueError, match="signing key"):
        seal_record(Kind.SWITCH, AT, (), HERE, INTERNAL)


def test_keys_the_reader_does_not_hold_are_refused() -> None:
    assert reason(seal_record(Kind.EVENTS, AT, (b"e",), HERE, OTHER_INTERNAL)) == "unknown_key"
    assert reason(seal_record(Kind.SWITCH, AT, (b"{}",), HERE, OTHER)) == "unknown_key"
    assert reason(seal_record(Kind.SWITCH, AT, (b"{}",), HERE, HUB)) == "unknown_key"
    forged = seal_record(Kind.SWITCH, AT, (b"{}",), HERE, OTHER)
    parsed = parse(forged)
    claimed = encode_body(Kind.SWITCH, AT, GOVERNANCE.key_id, parsed.items) + parsed.tag
    assert reason(claimed) == "bad_signature"


def test_a_key_is_trusted_only_inside_its_window_at_the_records_own_time() -> None:
    before = Window(not_before=AT + timedelta(seconds=1))
    after = Window(not_after=AT - timedelta(seconds=1))
    for window, expected in ((before, "key_not_yet_valid"), (after, "key_expired")):
        for record in (EVENTS, SWITCH):
            with pytest.raises(CryptoError) as info:
                verifier(window).open(record, HERE, ACCEPTED)
            assert info.value.reason == expected
    inside = Window(AT, AT)
    assert verifier(inside).open(EVENTS, HERE, ACCEPTED).at == AT


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_a_crypto_error(data: bytes) -> None:
    for value in (data, b"VRI1" + data, b"VRI1\x06events" + data):
        with pytest.raises(CryptoError):
            verifier().open(value, HERE, ACCEPTED)
