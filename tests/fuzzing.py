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


#: A Kafka record as a producer may write it: key, value, headers, partition (None: default).
Raw = tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]], int | None]
#: Header names the hub reads or signs somewhere, and some it never heard of.
NAMES = ("vru-seq", "vru-seal", "vru-kind", "vru-origin-ms", "ce_id", "ce_type", "vru-signature",
         "vru-hub-key", "content-type", "vru-last-seq", "x", "traceparent", "é", "")  # fmt: skip


def hostile_headers(rng: random.Random) -> list[tuple[str, bytes | None]]:
    """0 to 40 headers: repeated names, empty or null values, non-UTF-8, large and numeric-ish."""
    headers: list[tuple[str, bytes | None]] = []
    for _ in range(rng.choice((0, 1, 2, 5, 40))):
        name = rng.choice(NAMES)
        value = rng.choice(
            (None, b"", b"x", b"1000", b"-1", b"99999999999999999999999", b"\xff\xfe\x00",
             rng.randbytes(rng.randint(1, 64)), b"9" * 10_000)
        )  # fmt: skip
        headers.append((name, value))
    return headers


def hostile_records(
    genuine: list[Raw], elsewhere: list[bytes], rng: random.Random, count: int, partitions: int
) -> list[Raw]:
    """``count`` records for a topic: random ones, and ones mutated from its genuine records.

    - random values (empty to 2 KB), keys and headers;
    - a genuine value mutated (never left equal to itself), its key and headers kept;
    - a genuine value with hostile headers, or moved to another partition;
    - a genuine value of another topic;
    - deletions (no value) and, now and then, a value of 200 to 900 KB.
    """
    found: list[Raw] = []
    while len(found) < count:
        roll = rng.random()
        partition = rng.randrange(partitions)
        key = rng.choice((None, b"", rng.randbytes(rng.randint(1, 80))))
        if roll < 0.25 or not genuine:
            value = rng.randbytes(rng.choice((0, 1, 8, 64, 600, 2000)))
            found.append((key, value, hostile_headers(rng), partition))
            continue
        g_key, g_value, g_headers, g_partition = rng.choice(genuine)
        if roll < 0.65:
            mutated = mutate(g_value or b"", rng)
            if mutated != g_value:
                found.append((g_key, mutated, g_headers, g_partition))
        elif roll < 0.75:
            found.append((g_key, g_value, hostile_headers(rng), g_partition))
        elif roll < 0.83 and partitions > 1:
            moved = (g_partition or 0) + 1 + rng.randrange(partitions - 1)
            found.append((g_key, g_value, g_headers, moved % partitions))
        elif roll < 0.92 and elsewhere:
            found.append((key, rng.choice(elsewhere), g_headers, partition))
        elif roll < 0.995:
            found.append((g_key or b"k", None, hostile_headers(rng), partition))
        else:
            found.append((key, rng.randbytes(rng.randint(200_000, 900_000)), [], partition))
    return found
