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

import json
from dataclasses import dataclass

from hub.alerts import AlertKind
from hub.alerts.body import BODY_FORMAT
from hub.crypto import HpkePrivateKey, HpkePublicKey
from hub.errors import DecodeError


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


def counted(value: bytes) -> tuple[str, str, str]:
    """What the runner counts of an alert its dispatcher kept in plain: ``(rule id, flag id,
    kind)``, read from the body's JSON as :meth:`hub.alerts.AlertBody.from_bytes` reads
    them (the same values), without building and validating the whole body (a fifth of the
    cost: the dispatcher built it from a validated body in this process, and it never left).
    DecodeError if it is not a v1 body."""
    try:
        doc = json.loads(value)
        if doc["format"] != BODY_FORMAT:
            raise DecodeError("alert body: unknown format")
        return doc["rule"]["id"], doc["flag_id"], AlertKind(doc["kind"]).value
    except (ValueError, KeyError, TypeError) as exc:
        raise DecodeError(f"alert body does not parse ({type(exc).__name__})") from exc
