"""HMAC-SHA256 keys for linkage tokens and per-partnership pseudonyms.

A secret key's id is the first 16 hex digits of SHA-256 over a domain tag and the key, a
one-way name that lets tokens say which key made them without revealing it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from hub.errors import KeyringError

SECRET_SIZE = 32
_ID_DOMAIN = b"vru-hub/hmac-key-id/v1\x00"


@dataclass(frozen=True, slots=True)
class HmacKey:
    """A 256-bit HMAC-SHA256 key and its id. Its repr shows the key id only."""

    secret: bytes = field(repr=False)
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        if len(self.secret) != SECRET_SIZE:
            raise KeyringError("an HMAC key is 32 bytes")
        key_id = hashlib.sha256(_ID_DOMAIN + self.secret).hexdigest()[:16]
        object.__setattr__(self, "key_id", key_id)

    @classmethod
    def generate(cls) -> HmacKey:
        """A fresh key from the operating system's random source."""
        return cls(secrets.token_bytes(SECRET_SIZE))

    def mac(self, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under this key."""
        return hmac.digest(self.secret, message, "sha256")
