"""Batch feed records: round trip, one signature per record, derivable seals, tamper probes.

Tamper probes (each must fail): a flipped event byte, a dropped or reordered event, a
truncated record, garbage after the magic, a wrong count, a foreign key, another agency.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.crypto import SealVerifier, SigningKey, verify_seal
from hub.crypto.batchrecord import (
    MAGIC,
    MAX_RECORD_EVENTS,
    BatchRecord,
    encode_batch_record,
    event_seals,
    is_batch_record,
    parse_batch_record,
)
from hub.errors import BadSignatureError, MalformedBatchError, UnknownKeyError

KEY = SigningKey.from_raw(b"\x05" * 32)
OTHER = SigningKey.from_raw(b"\x06" * 32)
EVENTS = [b"\xc3\x01" + bytes([i]) * (i + 3) for i in range(7)]


def verifier() -> SealVerifier:
    return SealVerifier({"police": [KEY.verify_key]})


def verify(data: bytes, check: SealVerifier | None = None) -> BatchRecord:
    record = parse_batch_record(data)
    (check or verifier()).verify_head(record.head(), record.signature)
    return record


@settings(max_examples=60)
@given(st.lists(st.binary(max_size=80), min_size=1, max_size=60))
def test_round_trip_keeps_every_event_in_order(events: list[bytes]) -> None:
    data = encode_batch_record(events, KEY, "police")
    assert is_batch_record(data)
    record = verify(data)
    assert record.events == tuple(events)
    assert record.to_bytes() == data


def test_one_signature_check_per_record() -> None:
    check = verifier()
    for n in range(3):
        verify(encode_batch_record([*EVENTS, bytes([n])], KEY, "police"), check)
    assert check.signature_checks == 3


def test_each_event_keeps_a_seal_that_proves_it_offline() -> None:
    record = verify(encode_batch_record(EVENTS, KEY, "police"))
    seals = event_seals(record)
    assert [s.index for s in seals] == list(range(len(EVENTS)))
    for event, seal in zip(EVENTS, seals, strict=True):
        verify_seal(event, seal, KEY.verify_key)
        assert verifier().verify(event, seal.to_bytes()) == seal
    with pytest.raises(BadSignatureError):
        verify_seal(EVENTS[1], seals[0], KEY.verify_key)


def test_an_avro_event_is_never_taken_for_a_batch_record() -> None:
    assert not is_batch_record(b"\xc3\x01" + MAGIC)
    assert not is_batch_record(b"")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda r: dataclasses.replace(r, events=_flip(r.events)), id="flip"),
        pytest.param(lambda r: dataclasses.replace(r, events=r.events[1:]), id="drop"),
        pytest.param(lambda r: dataclasses.replace(r, events=r.events[::-1]), id="reorder"),
        pytest.param(lambda r: dataclasses.replace(r, batch_id=b"\x00" * 16), id="batch"),
    ],
)
def test_tampered_records_do_not_verify(tamper: Callable[[BatchRecord], BatchRecord]) -> None:
    record = parse_batch_record(encode_batch_record(EVENTS, KEY, "police"))
    changed = tamper(record)
    with pytest.raises(BadSignatureError):
        verify(changed.to_bytes())


def test_a_foreign_key_or_agency_is_refused() -> None:
    renamed = encode_batch_record(EVENTS, KEY, "police").replace(b"police", b"polica", 1)
    with pytest.raises(UnknownKeyError):  # the key is not the other agency's
        verify(renamed)
    with pytest.raises(BadSignatureError):  # and where it were, the statement names the agency
        verify(renamed, SealVerifier({"polica": [KEY.verify_key]}))
    with pytest.raises(UnknownKeyError):
        verify(encode_batch_record(EVENTS, OTHER, "police"))


def test_every_truncation_is_a_typed_error() -> None:
    data = encode_batch_record(EVENTS, KEY, "police")
    for end in range(len(data)):
        with pytest.raises(MalformedBatchError):
            parse_batch_record(data[:end])
    with pytest.raises(MalformedBatchError):
        parse_batch_record(data + b"x")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"VRB1\x00", "agency id"),
        (b"VRB1\x03ABC" + bytes(28), "agency id"),
        (b"VRB1\x06police" + bytes(24) + b"\x00\x00\x00\x00", "event count"),
        (b"VRB1\x06police" + bytes(24) + (MAX_RECORD_EVENTS + 1).to_bytes(4, "big"), "event count"),
        (b"VRB1\x06police" + bytes(24) + b"\x00\x00\x00\x01\xff\xff\xff\xff", "truncated event"),
        (b"\xc3\x01police", "magic"),
    ],
)
def test_garbage_names_its_problem(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedBatchError) as caught:
        parse_batch_record(data)
    assert caught.value.problem == problem
    assert caught.value.reason == "decode_error"


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_after_the_magic_parse_or_raise_typed(tail: bytes) -> None:
    try:
        parse_batch_record(MAGIC + tail)
    except MalformedBatchError:
        return


def _flip(events: tuple[bytes, ...]) -> tuple[bytes, ...]:
    first = bytearray(events[0])
    first[-1] ^= 1
    return (bytes(first), *events[1:])
