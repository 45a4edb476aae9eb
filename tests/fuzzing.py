"""Byte mutations shared by the fuzz tests and the 1M-input fuzz run (``bench/fuzz_ingest.py``)."""

from __future__ import annotations

import random

#: Byte runs that upset Avro varints and lengths: overlong, negative, zero.
OVERWRITES = (b"\xff" * 9, b"\x80" * 10, b"\x01", b"\x7f", b"\xfe\xff\xff\xff\x0f", b"\x00" * 4)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random mutations: flip, truncate, insert, delete or overwrite."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(max(len(out), 1))
        kind = rng.choice(("flip", "truncate", "insert", "delete", "overwrite"))
        if kind == "flip" and out:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == "truncate":
            del out[at:]
        elif kind == "insert":
            out[at:at] = rng.randbytes(rng.randint(1, 12))
        elif kind == "delete":
            del out[at : at + rng.randint(1, 8)]
        else:
            chunk = rng.choice(OVERWRITES)
            out[at : at + len(chunk)] = chunk
    return bytes(out)
