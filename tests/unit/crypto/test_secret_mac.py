"""HmacKey.mac equals the standard library's HMAC-SHA256 (it copies a state set up once per key)."""

from __future__ import annotations

import copy
import hmac
import pickle

from hypothesis import given
from hypothesis import strategies as st

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
    # RFC 4231's case 2 key ("Jefe") padded to the hub's 32 bytes: HMAC pads it with zeros
    # to the block anyway, so the MAC is the RFC's.
    key = b"Jefe" + b"\x00" * 28
    expected = bytes.fromhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    assert HmacKey(key).mac(b"what do ya want for nothing?") == expected


def test_a_mac_does_not_change_the_keys_state() -> None:
    key = HmacKey(b"\x07" * 32)
    first = key.mac(b"one")
    key.mac(b"two" * 100)
    assert key.mac(b"one") == first == hmac.digest(key.secret, b"one", "sha256")


def test_a_pickled_or_copied_key_is_its_secret_alone_and_macs_alike() -> None:
    key = HmacKey(b"\x09" * 32)
    assert key.__reduce__() == (HmacKey, (key.secret,))  # the HMAC state is never serialised
    for other in (pickle.loads(pickle.dumps(key)), copy.deepcopy(key), copy.copy(key)):  # noqa: S301
        assert other == key
        assert other.key_id == key.key_id
        assert other.mac(b"message") == key.mac(b"message")
    assert pickle.loads(pickle.dumps(key))._state is not key._state  # noqa: S301
    assert "HMAC" not in repr(key)
