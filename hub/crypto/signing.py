"""Ed25519 signing keys and verify keys, named by key id.

A key id is the first 16 hex digits of SHA-256 over the raw 32-byte public key, so anyone
holding a public key can compute its id. This module is the one place where cryptography's
``InvalidSignature`` becomes :class:`~hub.errors.BadSignatureError`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from hub.errors import BadSignatureError, KeyringError

KEY_ID_HEX = 16
SIGNATURE_SIZE = 64
RAW_KEY_SIZE = 32


def key_id_of(public_raw: bytes) -> str:
    """The key id of a raw public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_raw).hexdigest()[:KEY_ID_HEX]


@dataclass(frozen=True, slots=True)
class VerifyKey:
    """An Ed25519 public key and its id."""

    raw: bytes = field(repr=False)
    key_id: str = field(init=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.raw) != RAW_KEY_SIZE:
            raise KeyringError("an Ed25519 public key is 32 bytes")
        object.__setattr__(self, "key_id", key_id_of(self.raw))
        object.__setattr__(self, "_key", Ed25519PublicKey.from_public_bytes(self.raw))

    def verify(self, signature: bytes, message: bytes) -> None:
        """Return if ``signature`` is this key's over ``message``; else BadSignatureError."""
        try:
            self._key.verify(signature, message)
        except InvalidSignature as exc:
            raise BadSignatureError(f"signature does not verify under key {self.key_id}") from exc


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An Ed25519 private key. Its repr shows the key id only."""

    _key: Ed25519PrivateKey = field(repr=False, compare=False)
    verify_key: VerifyKey = field(init=False)

    def __post_init__(self) -> None:
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        object.__setattr__(self, "verify_key", VerifyKey(raw))

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from the operating system's random source."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, seed: bytes) -> SigningKey:
        """The key whose 32-byte private seed is ``seed``."""
        if len(seed) != RAW_KEY_SIZE:
            raise KeyringError("an Ed25519 private key is 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def key_id(self) -> str:
        """The id of the matching public key."""
        return self.verify_key.key_id

    def raw(self) -> bytes:
        """The 32-byte private seed, for the keyring to store; never log it."""
        return self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature over ``message``."""
        return self._key.sign(message)
