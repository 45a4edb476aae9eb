"""Event ids: UUIDv7 (RFC 9562), time-ordered, optionally derived from a seed.

A replay of the same source row must produce the same event id, so that sending a file twice
is caught as ``duplicate_event`` instead of counted twice. Random uuid7 libraries cannot do
that, hence the seeded form here.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime


def uuid7(at: datetime, seed: bytes | None = None) -> str:
    """A UUIDv7 whose 48-bit timestamp is ``at`` and whose 74 random bits come from ``seed``."""
    millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    entropy = hashlib.sha256(seed).digest() if seed is not None else os.urandom(16)
    rand = int.from_bytes(entropy[:10], "big")
    rand_a = (rand >> 62) & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = (millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))
