"""HPKE (RFC 9180) base mode to a partnership: DHKEM(X25519), HKDF-SHA256, AES-128-GCM.

cryptography 50's public HPKE API takes an ``info`` string but no AAD, so the context an
alert is bound to (partnership id and alert id) goes into ``info``, which enters the key
schedule: a ciphertext opened under any other context fails exactly like a wrong key. The
ciphertext is the encapsulated key (32 bytes) followed by the AEAD output. This module is the
one place where ``InvalidTag`` becomes :class:`~hub.errors.DecryptionError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from hub.crypto.signing import RAW_KEY_SIZE, key_id_of
from hub.errors import DecryptionError, KeyringError

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)
ALERT_DOMAIN = b"vru-hub/alert/v1"
_OVERHEAD = 32 + 16  # encapsulated X25519 key + GCM tag


def alert_info(partnership_id: str, alert_id: str) -> bytes:
    """The HPKE ``info`` binding a ciphertext to one alert for one partnership."""
    return ALERT_DOMAIN + _length_prefixed(partnership_id) + _length_prefixed(alert_id)


def _length_prefixed(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


@dataclass(frozen=True, slots=True)
class HpkePublicKey:
    """A partnership's X25519 public key and its id (first 16 hex of SHA-256 of the raw key)."""

    raw: bytes = field(repr=False)
    key_id: str = field(init=False)
    _key: X25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.raw) != RAW_KEY_SIZE:
            raise KeyringError("an X25519 public key is 32 bytes")
        object.__setattr__(self, "key_id", key_id_of(self.raw))
        object.__setattr__(self, "_key", X25519PublicKey.from_public_bytes(self.raw))

    def seal(self, plaintext: bytes, info: bytes) -> bytes:
        """Encrypt ``plaintext`` to this key under the context ``info``."""
        return SUITE.encrypt(plaintext, self._key, info=info)


@dataclass(frozen=True, slots=True)
class HpkePrivateKey:
    """A partnership's X25519 private key. Its repr shows the key id only."""

    _key: X25519PrivateKey = field(repr=False, compare=False)
    public_key: HpkePublicKey = field(init=False)

    def __post_init__(self) -> None:
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        object.__setattr__(self, "public_key", HpkePublicKey(raw))

    @classmethod
    def generate(cls) -> HpkePrivateKey:
        """A fresh key from the operating system's random source."""
        return cls(X25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, raw: bytes) -> HpkePrivateKey:
        """The key whose 32-byte private scalar is ``raw``."""
        if len(raw) != RAW_KEY_SIZE:
            raise KeyringError("an X25519 private key is 32 bytes")
        return cls(X25519PrivateKey.from_private_bytes(raw))

    @property
    def key_id(self) -> str:
        """The id of the matching public key."""
        return self.public_key.key_id

    def raw(self) -> bytes:
        """The 32-byte private scalar, for the keyring to store; never log it."""
        return self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def open(self, ciphertext: bytes, info: bytes) -> bytes:
        """Decrypt a ciphertext sealed to this key under ``info``; else DecryptionError."""
        if len(ciphertext) < _OVERHEAD:
            raise DecryptionError(f"ciphertext of {len(ciphertext)} bytes is too short")
        try:
            return SUITE.decrypt(ciphertext, self._key, info=info)
        except InvalidTag as exc:
            raise DecryptionError(f"cannot open with key {self.key_id}") from exc
