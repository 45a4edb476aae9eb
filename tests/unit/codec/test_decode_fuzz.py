"""``SchemaStore.decode`` raises only DecodeError or UnknownSchemaError, whatever the bytes.

Over 100,000 inputs in all: arbitrary byte strings, and valid messages of every type and
version mutated by bit flips, truncations, insertions, deletions and overwrites. Each
hypothesis example seeds a batch of inputs, which keeps the run well under a minute. A mutated
example draws only a message and a seed, and its mutations come from that seed, so its batch
is larger (80 mutations of one message, where 20 were): a quarter of the examples make as many
inputs at a quarter of hypothesis's cost (about 1 ms an example, five times a batch of 20's own
work), and the tally checks that every seed message was mutated.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.codec import SchemaStore
from hub.errors import DecodeError, UnknownSchemaError
from tests.fuzzing import mutate

from .conftest import sample

STORE = SchemaStore.load(Path("schemas"))
BATCH = 20
MUTATED_BATCH = 80
ARBITRARY_EXAMPLES = 4_500
MUTATED_EXAMPLES = 1_500
MANY = settings(
    max_examples=ARBITRARY_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _seed_messages() -> list[bytes]:
    """For every type and version, three valid messages from seeded random records."""
    rng = random.Random(20240501)
    messages = []
    for event_type in sorted(STORE.event_types):
        for version in STORE.versions(event_type):
            schema = STORE.schema(event_type, version)
            for _ in range(3):
                record = sample(schema, rng)
                del record["envelope"]["event_type"], record["envelope"]["schema_version"]
                messages.append(STORE.encode(event_type, record, version=version))
    return messages


SEEDS = _seed_messages()
COUNTS = {"decoded": 0, "decode_error": 0, "unknown_schema": 0}
MUTATED: set[bytes] = set()


def classify(data: bytes) -> str:
    try:
        STORE.decode(data)
    except DecodeError:
        return "decode_error"
    except UnknownSchemaError:
        return "unknown_schema"
    return "decoded"


def test_seed_messages_decode() -> None:
    assert len(SEEDS) == 3 * sum(len(STORE.versions(t)) for t in STORE.event_types)
    assert {classify(seed) for seed in SEEDS} == {"decoded"}


@MANY
@given(data=st.binary(max_size=300), marked=st.booleans(), seed=st.integers(0, 2**32))
def arbitrary_bytes(data: bytes, marked: bool, seed: int) -> None:
    rng = random.Random(seed)
    prefix = b"\xc3\x01" if marked else b""
    COUNTS[classify(prefix + data)] += 1
    for _ in range(BATCH - 1):
        COUNTS[classify(prefix + rng.randbytes(rng.randint(0, 200)))] += 1


@settings(MANY, max_examples=MUTATED_EXAMPLES)
@given(message=st.sampled_from(SEEDS), seed=st.integers(0, 2**32))
def mutated_messages(message: bytes, seed: int) -> None:
    rng = random.Random(seed)
    MUTATED.add(message)
    for _ in range(MUTATED_BATCH):
        COUNTS[classify(mutate(message, rng))] += 1


def test_huge_declared_lengths_are_decode_errors() -> None:
    header, body = SEEDS[0][:10], SEEDS[0][10:]
    for length in (b"\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01", b"\xff\xff\xff\xff\x0f", b"\x01"):
        assert classify(header + length + body[1:]) == "decode_error"
    assert classify(header + body + b"\x00" * (1 << 20)) == "decode_error"


# CPU-bound (hypothesis draws most of it): on a loaded two-core host it passed 120 s, and its
# mark also deals it among the first tests (tests/conftest.py).
@pytest.mark.timeout(300)
def test_every_input_of_both_searches_is_classified() -> None:
    """Both hypothesis searches, then their tally: 100,000+ inputs, each classified.

    One test, so that the tally sees both searches whichever process runs it (pytest-xdist).
    """
    COUNTS.update(dict.fromkeys(COUNTS, 0))
    MUTATED.clear()
    arbitrary_bytes()
    mutated_messages()
    inputs = ARBITRARY_EXAMPLES * BATCH + MUTATED_EXAMPLES * MUTATED_BATCH
    assert sum(COUNTS.values()) >= inputs >= 100_000
    assert set(SEEDS) == MUTATED
    assert COUNTS["decode_error"] > 0
    assert COUNTS["unknown_schema"] > 0
    assert COUNTS["decoded"] > 0
