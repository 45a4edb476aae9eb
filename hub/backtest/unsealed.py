"""Alerts a backtest counts and never delivers: kept in plain, not encrypted and opened again.

The dispatcher encrypts each alert to its partnership's key (:func:`hub.alerts.
encrypt_alert`); a backtest delivers nothing, and counts each alert by reading its body back.
It used to encrypt to a key made for the run and decrypt at once (HPKE both ways, about 4 %
of a run of the demo's months). :class:`UnsealedKey` is the recipient key a backtest's
dispatcher is given instead: its :meth:`~UnsealedKey.seal` keeps the plaintext, so the runner
reads the body as the dispatcher wrote it. Its key id is a fresh X25519 key's (made for the
run, as before): the alert's headers are as they were, and the body never leaves the process.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.crypto import HpkePrivateKey, HpkePublicKey


@dataclass(frozen=True, slots=True)
class UnsealedKey(HpkePublicKey):
    """A recipient key whose "ciphertext" is the plaintext: for alerts nobody receives."""

    @classmethod
    def generate(cls) -> UnsealedKey:
        """A key with a fresh run-only key id."""
        return cls(HpkePrivateKey.generate().public_key.raw)

    def seal(self, plaintext: bytes, info: bytes) -> bytes:  # info binds nothing: no ciphertext
        """``plaintext`` itself: the alert is read back in this process and dropped."""
        return plaintext
