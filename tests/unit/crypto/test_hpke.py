"""HPKE seal/open to a partnership, bound to the partnership and alert ids."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.crypto import HpkePrivateKey, HpkePublicKey, alert_info
from hub.errors import DecryptionError

KEY = HpkePrivateKey.from_raw(bytes(range(32)))


@settings(max_examples=50)
@given(st.binary(max_size=2048), st.text(max_size=20), st.text(max_size=20))
def test_round_trip(plaintext: bytes, partnership: str, alert: str) -> None:
    info = alert_info(partnership, alert)
    ciphertext = KEY.public_key.seal(plaintext, info)
    assert len(ciphertext) == 32 + len(plaintext) + 16
    assert KEY.open(ciphertext, info) == plaintext


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]


def test_every_tamper_fails_with_decryption_error() -> None:
    info = alert_info("reading", "alert-1")
    ciphertext = KEY.public_key.seal(b'{"rule": "r1"}', info)
    probes = {
        "other partnership": (KEY, ciphertext, alert_info("slough", "alert-1")),
        "other alert": (KEY, ciphertext, alert_info("reading", "alert-2")),
        "ambiguous split": (KEY, ciphertext, alert_info("readinga", "lert-1")),
        "wrong key": (HpkePrivateKey.generate(), ciphertext, info),
        "truncated": (KEY, ciphertext[:-1], info),
        "empty": (KEY, b"", info),
        **{
            f"flipped byte {i}": (
                KEY,
                ciphertext[:i] + bytes([ciphertext[i] ^ 1]) + ciphertext[i + 1 :],
                info,
            )
            for i in (0, 31, 32, len(ciphertext) - 1)
        },
    }
    opened = []
    for name, (key, data, context) in probes.items():
        try:
            key.open(data, context)
            opened.append(name)
        except DecryptionError:
            pass
    assert opened == []


def test_public_key_round_trips_through_raw_bytes() -> None:
    public = HpkePublicKey(KEY.public_key.raw)
    assert public.key_id == KEY.key_id
    info = alert_info("oxfordshire", "a")
    assert KEY.open(public.seal(b"x", info), info) == b"x"
    assert HpkePrivateKey.from_raw(KEY.raw()).key_id == KEY.key_id
