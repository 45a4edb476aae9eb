"""Ed25519 keys, key ids and the one translation of InvalidSignature."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.crypto import HmacKey, SigningKey, VerifyKey
from hub.errors import BadSignatureError, KeyringError


def test_key_id_is_the_first_16_hex_of_the_public_key_hash() -> None:
    key = SigningKey.generate()
    assert key.key_id == hashlib.sha256(key.verify_key.raw).hexdigest()[:16]
    assert VerifyKey(key.verify_key.raw).key_id == key.key_id


@given(st.binary(max_size=256))
def test_signature_round_trip(message: bytes) -> None:
    key = SigningKey.from_raw(b"\x07" * 32)
    key.verify_key.verify(key.sign(message), message)


def test_wrong_message_wrong_key_and_flipped_signature_fail() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    signature = key.sign(b"statement")
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    for verify_key, sig, message in (
        (key.verify_key, signature, b"statement!"),
        (other.verify_key, signature, b"statement"),
        (key.verify_key, flipped, b"statement"),
        (key.verify_key, signature[:-1], b"statement"),
    ):
        with pytest.raises(BadSignatureError):
            verify_key.verify(sig, message)


def test_private_key_survives_a_raw_round_trip() -> None:
    key = SigningKey.generate()
    again = SigningKey.from_raw(key.raw())
    assert again.key_id == key.key_id
    key.verify_key.verify(again.sign(b"m"), b"m")


def test_reprs_show_ids_not_secrets() -> None:
    key, hmac_key = SigningKey.generate(), HmacKey.generate()
    assert key.raw().hex() not in repr(key)
    assert key.key_id in repr(key)
    assert hmac_key.secret.hex() not in repr(hmac_key)
    assert repr(hmac_key.secret) not in repr(hmac_key)


def test_wrong_lengths_are_keyring_errors() -> None:
    with pytest.raises(KeyringError):
        VerifyKey(b"short")
    with pytest.raises(KeyringError):
        SigningKey.from_raw(b"\x00" * 31)
    with pytest.raises(KeyringError):
        HmacKey(b"\x00" * 16)
