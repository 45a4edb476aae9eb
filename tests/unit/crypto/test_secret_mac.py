"""HmacKey.mac is HMAC-SHA256 (RFC 2104): the standard library's, from remembered pads."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from hub.crypto import secret
from hub.crypto.secret import HmacKey

SECRETS = st.binary(min_size=32, max_size=32)


@given(SECRETS, st.binary(max_size=300))
def test_a_mac_is_the_standard_librarys_hmac_sha256(key: bytes, message: bytes) -> None:
    assert HmacKey(key).mac(message) == hmac.digest(key, message, "sha256")


def test_messages_around_the_block_size_and_long_ones_match_the_library() -> None:
    key = HmacKey(bytes(range(32)))
    for size in (0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 4096, 100_000):
        message = bytes(i % 251 for i in range(size))
        assert key.mac(message) == hmac.digest(key.secret, message, "sha256")


def test_rfc_4231_case_2_with_a_32_byte_key() -> None:
    # RFC 4231's vectors use other key lengths; this one is hashlib's own HMAC, spelled out.
    key = b"Jefe" + b"\x00" * 28
    message = b"what do ya want for nothing?"
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key.ljust(64, b"\x00")) + message).digest()
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key.ljust(64, b"\x00")) + inner).digest()
    assert HmacKey(key).mac(message) == outer == hmac.digest(key, message, "sha256")


def test_a_mac_does_not_change_the_remembered_pads() -> None:
    key = HmacKey(b"\x07" * 32)
    first = key.mac(b"one")
    key.mac(b"two" * 100)
    assert key.mac(b"one") == first == hmac.digest(key.secret, b"one", "sha256")


def test_more_keys_than_are_remembered_each_give_their_own_mac() -> None:
    keys = [HmacKey(i.to_bytes(32, "big")) for i in range(secret._PADS_MAX * 2 + 3)]
    for key in keys + keys[::-1]:
        assert key.mac(b"message") == hmac.digest(key.secret, b"message", "sha256")
    assert len(secret._PADS) <= secret._PADS_MAX
