"""HMAC-SHA256 keys for linkage tokens and per-partnership pseudonyms.

A secret key's id is the first 16 hex digits of SHA-256 over a domain tag and the key, a
one-way name that lets tokens say which key made them without revealing it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC

from hub.errors import KeyringError

SECRET_SIZE = 32
_ID_DOMAIN = b"vru-hub/hmac-key-id/v1\x00"


@dataclass(frozen=True, slots=True)
class HmacKey:
    """A 256-bit HMAC-SHA256 key and its id. Its repr shows the key id only."""

    secret: bytes = field(repr=False)
    key_id: str = field(init=False)
    _state: HMAC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.secret) != SECRET_SIZE:
            raise KeyringError("an HMAC key is 32 bytes")
        key_id = hashlib.sha256(_ID_DOMAIN + self.secret).hexdigest()[:16]
        object.__setattr__(self, "key_id", key_id)
        object.__setattr__(self, "_state", HMAC(self.secret, hashes.SHA256()))

    @classmethod
    def generate(cls) -> HmacKey:
        """A fresh key from the operating system's random source."""
        return cls(secrets.token_bytes(SECRET_SIZE))

    def mac(self, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under this key (RFC 2104, OpenSSL's through
        ``cryptography``).

        The key's HMAC state is set up once and copied per message (never finalised itself):
        ``hmac.digest`` sets up OpenSSL's HMAC afresh for every message, about 1.6 µs a MAC
        on this machine; the standard library's ``hmac.HMAC`` copied is 1.2, three of its
        Python methods a MAC; ``cryptography``'s, whose methods are native, 0.6 (120 bytes;
        the correlation service makes about 1.8 MACs an event, docs/benchmarks-history.md). The
        state lives and dies with this key object.
        """
        state = self._state.copy()
        state.update(message)
        return state.finalize()

    def __reduce__(self) -> tuple[type[HmacKey], tuple[bytes]]:
        """Pickled as its secret alone: the HMAC state is rebuilt, never serialised."""
        return (HmacKey, (self.secret,))
