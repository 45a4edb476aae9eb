"""Tamper probes on batch seals: every change to an event, its seal or its key must fail.

A change may be refused as BadSignatureError (including MalformedSealError) or UnknownKeyError,
and never as anything else.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.crypto import EventSeal, SealVerifier, SigningKey, decode_seal, seal_batch, verify_seal
from hub.errors import BadSignatureError, CryptoError, UnknownKeyError

POLICE = SigningKey.from_raw(b"\x01" * 32)
EDUCATION = SigningKey.from_raw(b"\x02" * 32)
EVENTS = [f"event-{i}".encode() * 3 for i in range(37)]
SEALS = seal_batch(EVENTS, POLICE, "police", batch_id=b"B" * 16)
TARGET = 21


def _verifier() -> SealVerifier:
    return SealVerifier({"police": [POLICE.verify_key], "education": [EDUCATION.verify_key]})


def _refused(event: bytes, seal: EventSeal | bytes) -> bool:
    """True when a fresh verifier that has seen the genuine batch refuses the pair."""
    verifier = _verifier()
    verifier.verify(EVENTS[0], SEALS[0])  # the batch is cached: probes must not ride on it
    try:
        verifier.verify(event, seal)
    except (BadSignatureError, UnknownKeyError):
        return True
    return False


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_the_genuine_event_verifies() -> None:
    assert not _refused(EVENTS[TARGET], SEALS[TARGET])
    assert not _refused(EVENTS[TARGET], SEALS[TARGET].to_bytes())


def test_flipping_any_byte_of_the_event_fails() -> None:
    event = EVENTS[TARGET]
    assert [i for i in range(len(event)) if not _refused(_flip(event, i), SEALS[TARGET])] == []


def test_flipping_any_byte_of_the_seal_header_fails() -> None:
    header = SEALS[TARGET].to_bytes()
    accepted = [i for i in range(len(header)) if not _refused(EVENTS[TARGET], _flip(header, i))]
    assert accepted == []


def test_truncating_or_extending_the_seal_header_fails() -> None:
    header = SEALS[TARGET].to_bytes()
    assert all(_refused(EVENTS[TARGET], header[:n]) for n in range(len(header)))
    assert _refused(EVENTS[TARGET], header + b"\x00")


def test_field_probes_fail() -> None:
    seal = SEALS[TARGET]
    probes = {
        "other event's seal": SEALS[TARGET + 1],
        "index + 1": dataclasses.replace(seal, index=seal.index + 1),
        "index - 1": dataclasses.replace(seal, index=seal.index - 1),
        "size + 1": dataclasses.replace(seal, size=seal.size + 1),
        "size - 1": dataclasses.replace(seal, size=seal.size - 1),
        "batch id": dataclasses.replace(seal, batch_id=b"C" * 16),
        "proof truncated": dataclasses.replace(seal, proof=seal.proof[:-1]),
        "proof reordered": dataclasses.replace(seal, proof=seal.proof[::-1]),
        "signature flipped": dataclasses.replace(seal, signature=_flip(seal.signature, 5)),
        "unknown key id": dataclasses.replace(seal, key_id="0123456789abcdef"),
        "education's key id": dataclasses.replace(seal, key_id=EDUCATION.key_id),
        "claims education": dataclasses.replace(seal, agency_id="education"),
    }
    assert [name for name, probe in probes.items() if not _refused(EVENTS[TARGET], probe)] == []


def test_a_batch_signed_by_another_agency_key_fails() -> None:
    forged = seal_batch(EVENTS, EDUCATION, "police", batch_id=b"B" * 16)
    assert _refused(EVENTS[TARGET], forged[TARGET])
    renamed = dataclasses.replace(forged[TARGET], key_id=POLICE.key_id)
    assert _refused(EVENTS[TARGET], renamed)


def test_offline_verification_needs_only_event_seal_and_key() -> None:
    verify_seal(EVENTS[TARGET], decode_seal(SEALS[TARGET].to_bytes()), POLICE.verify_key)
    with pytest.raises(BadSignatureError):
        verify_seal(EVENTS[TARGET], SEALS[TARGET], EDUCATION.verify_key)
    with pytest.raises(BadSignatureError):
        verify_seal(EVENTS[TARGET + 1], SEALS[TARGET], POLICE.verify_key)


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_garbage_headers_raise_only_crypto_errors(header: bytes) -> None:
    with pytest.raises(CryptoError):
        _verifier().verify(b"event", header)


@settings(max_examples=300)
@given(st.data())
def test_mutated_headers_raise_only_crypto_errors(data: st.DataObject) -> None:
    header = bytearray(SEALS[TARGET].to_bytes())
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        at = data.draw(st.integers(0, len(header) - 1), label="at")
        header[at] = data.draw(st.integers(0, 255), label="byte")
    mutated = bytes(header)
    if mutated == SEALS[TARGET].to_bytes():
        return
    assert _refused(EVENTS[TARGET], mutated)
