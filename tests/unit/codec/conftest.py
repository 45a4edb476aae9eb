"""Fixtures for the codec tests: the shipped schema store and record strategies built from it."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from hub.codec import SchemaStore

RecordStrategy = Callable[..., st.SearchStrategy[dict[str, Any]]]

_STAMPED = ("event_type", "schema_version")
# hypothesis takes naive bounds and attaches the timezone itself
_EPOCH_RANGE = (datetime(1900, 1, 1), datetime(2200, 1, 1))  # noqa: DTZ001  # naive bounds, see above


@pytest.fixture(scope="session")
def store() -> SchemaStore:
    return SchemaStore.load(Path("schemas"))


@pytest.fixture(scope="session")
def records(store: SchemaStore) -> RecordStrategy:
    """``records(event_type, version=None)``: arbitrary records the schema accepts.

    The envelope's ``event_type`` and ``schema_version`` are left out: ``encode`` stamps them.
    """

    def build(event_type: str, version: int | None = None) -> st.SearchStrategy[dict[str, Any]]:
        schema = store.schema(event_type, version)
        fields: dict[str, st.SearchStrategy[Any]] = {}
        for field in schema["fields"]:
            if field["name"] == "envelope":
                sub = {
                    f["name"]: strategy_for(f["type"])
                    for f in field["type"]["fields"]
                    if f["name"] not in _STAMPED
                }
                fields["envelope"] = st.fixed_dictionaries(sub)
            else:
                fields[field["name"]] = strategy_for(field["type"])
        return st.fixed_dictionaries(fields)

    return build


def strategy_for(avro_type: Any) -> st.SearchStrategy[Any]:
    """Values of an Avro type as fastavro reads them back (UTC datetimes at millisecond)."""
    if isinstance(avro_type, list):
        return st.one_of([strategy_for(branch) for branch in avro_type])
    if isinstance(avro_type, dict):
        return _complex(avro_type)
    return _PRIMITIVES[avro_type]


def _complex(avro_type: dict[str, Any]) -> st.SearchStrategy[Any]:
    if avro_type.get("logicalType") == "timestamp-millis":
        return st.datetimes(*_EPOCH_RANGE, timezones=st.just(UTC)).map(
            lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
        )
    kind = avro_type["type"]
    if kind == "enum":
        return st.sampled_from(avro_type["symbols"])
    if kind == "array":
        return st.lists(strategy_for(avro_type["items"]), max_size=4)
    if kind == "record":
        return st.fixed_dictionaries(
            {f["name"]: strategy_for(f["type"]) for f in avro_type["fields"]}
        )
    return strategy_for(kind)


_PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "string": st.text(max_size=40),
}


def sample(avro_type: Any, rng: random.Random) -> Any:
    """One value of an Avro type from a seeded generator (fast, for fixed test corpora)."""
    if isinstance(avro_type, list):
        return sample(rng.choice(avro_type), rng)
    if isinstance(avro_type, dict):
        return _sample_complex(avro_type, rng)
    return _SAMPLERS[avro_type](rng)


def _sample_complex(avro_type: dict[str, Any], rng: random.Random) -> Any:
    if avro_type.get("logicalType") == "timestamp-millis":
        return datetime.fromtimestamp(rng.randint(0, 4_000_000_000_000) / 1000, UTC)
    kind = avro_type["type"]
    if kind == "enum":
        return rng.choice(avro_type["symbols"])
    if kind == "array":
        return [sample(avro_type["items"], rng) for _ in range(rng.randint(0, 4))]
    if kind == "record":
        return {f["name"]: sample(f["type"], rng) for f in avro_type["fields"]}
    return sample(kind, rng)


_SAMPLERS: dict[str, Callable[[random.Random], Any]] = {
    "null": lambda _: None,
    "boolean": lambda rng: rng.random() < 0.5,
    "int": lambda rng: rng.randint(-(2**31), 2**31 - 1),
    "long": lambda rng: rng.randint(-(2**63), 2**63 - 1),
    "string": lambda rng: "".join(rng.choice("abcé€𝄞 -_:0129") for _ in range(rng.randint(0, 60))),
}
