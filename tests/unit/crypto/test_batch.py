"""Batch seals: round trips, the one-signature-per-batch cache, and its bound."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.crypto import SealVerifier, SigningKey, decode_seal, seal_batch
from hub.errors import BadSignatureError, MalformedSealError

KEY = SigningKey.from_raw(b"\x03" * 32)


@settings(max_examples=60)
@given(
    st.lists(st.binary(max_size=64), min_size=1, max_size=40), st.sampled_from(["police", "health"])
)
def test_round_trip_every_event_of_a_batch(events: list[bytes], agency: str) -> None:
    seals = seal_batch(events, KEY, agency)
    verifier = SealVerifier({agency: [KEY.verify_key]})
    for event, seal in zip(events, seals, strict=True):
        assert decode_seal(seal.to_bytes()) == seal
        assert verifier.verify(event, seal.to_bytes()) == seal
    assert verifier.signature_checks == 1


def test_a_batch_of_one_has_an_empty_proof_and_verifies() -> None:
    (seal,) = seal_batch([b"only"], KEY, "police")
    assert seal.proof == ()
    assert (seal.index, seal.size) == (0, 1)
    SealVerifier({"police": [KEY.verify_key]}).verify(b"only", seal)


def test_each_batch_pays_for_one_signature_check() -> None:
    verifier = SealVerifier({"police": [KEY.verify_key]})
    for batch in range(3):
        events = [f"{batch}-{i}".encode() for i in range(10)]
        for event, seal in zip(events, seal_batch(events, KEY, "police"), strict=True):
            verifier.verify(event, seal)
    assert verifier.signature_checks == 3


def test_the_cache_is_bounded_and_evicts_the_oldest_batch() -> None:
    verifier = SealVerifier({"police": [KEY.verify_key]}, cache_size=2)
    batches = [([f"{b}".encode()], seal_batch([f"{b}".encode()], KEY, "police")) for b in range(3)]
    for events, seals in batches:
        verifier.verify(events[0], seals[0])
    verifier.verify(batches[2][0][0], batches[2][1][0])
    assert verifier.signature_checks == 3
    verifier.verify(batches[0][0][0], batches[0][1][0])
    assert verifier.signature_checks == 4


def test_a_cached_batch_does_not_excuse_a_bad_signature() -> None:
    events = [b"a", b"b"]
    first, second = seal_batch(events, KEY, "police")
    verifier = SealVerifier({"police": [KEY.verify_key]})
    verifier.verify(b"a", first)
    forged = dataclasses.replace(second, signature=b"\x00" * 64)
    with pytest.raises(BadSignatureError):
        verifier.verify(b"b", forged)


def test_seals_refuse_impossible_fields() -> None:
    (seal,) = seal_batch([b"x"], KEY, "police")
    changes: list[dict[str, Any]] = [
        {"index": 1},
        {"size": 0},
        {"key_id": "XYZ"},
        {"agency_id": "Police!"},
        {"batch_id": b"short"},
        {"proof": (b"\x00" * 31,)},
        {"signature": b""},
    ]
    for change in changes:
        with pytest.raises(MalformedSealError):
            dataclasses.replace(seal, **change)
    with pytest.raises(ValueError, match="a batch holds"):
        seal_batch([], KEY, "police")
