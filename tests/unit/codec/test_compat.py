"""Backward-compatibility rules, checked case by case and against Apache avro's own checker."""

from __future__ import annotations

import functools
import json
from typing import Any

import avro.compatibility
import avro.schema
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hub.codec.compat import incompatibilities

PRIMITIVE_TYPES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]


def record(*fields: dict[str, Any], name: str = "R", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "t", "fields": list(fields), **extra}


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "E", "symbols": list(symbols), **extra}


CASES = [
    ("same", record({"name": "a", "type": "int"}), record({"name": "a", "type": "int"}), []),
    (
        "promote int",
        record({"name": "a", "type": "long"}),
        record({"name": "a", "type": "int"}),
        [],
    ),
    (
        "narrow long",
        record({"name": "a", "type": "int"}),
        record({"name": "a", "type": "long"}),
        ["a: type changed from long to int"],
    ),
    (
        "drop field",
        record({"name": "a", "type": "int"}),
        record({"name": "a", "type": "int"}, {"name": "b", "type": "string"}),
        [],
    ),
    (
        "alias renames a field",
        record({"name": "b", "type": "int", "aliases": ["a"]}),
        record({"name": "a", "type": "int"}),
        [],
    ),
    (
        "record renamed",
        record(name="S"),
        record(name="R"),
        ["<root>: record name changed from t.R to t.S"],
    ),
    ("record alias", record(name="S", aliases=["R"]), record(name="R"), []),
    (
        "enum default covers removed symbol",
        record({"name": "e", "type": enum("A", default="A")}),
        record({"name": "e", "type": enum("A", "B")}),
        [],
    ),
    (
        "optional made required",
        record({"name": "a", "type": "int"}),
        record({"name": "a", "type": ["null", "int"]}),
        ["a: type changed from null to int"],
    ),
    (
        "required made optional",
        record({"name": "a", "type": ["null", "int"]}),
        record({"name": "a", "type": "int"}),
        [],
    ),
    (
        "array items",
        record({"name": "a", "type": {"type": "array", "items": "int"}}),
        record({"name": "a", "type": {"type": "array", "items": "string"}}),
        ["a[]: type changed from string to int"],
    ),
    (
        "logical type changed",
        record({"name": "t", "type": {"type": "long", "logicalType": "timestamp-micros"}}),
        record({"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}}),
        ["t: logical type changed from timestamp-millis to timestamp-micros"],
    ),
    (
        "recursive record",
        record({"name": "next", "type": ["null", "t.R"]}, {"name": "v", "type": "long"}),
        record({"name": "next", "type": ["null", "t.R"]}, {"name": "v", "type": "int"}),
        [],
    ),
]


@pytest.mark.parametrize(
    ("label", "reader", "writer", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_rules(label: str, reader: Any, writer: Any, expected: list[str]) -> None:
    assert [str(i) for i in incompatibilities(reader, writer)] == expected


# --- against Apache avro's ReaderWriterCompatibilityChecker ---------------------------------

leaf = st.sampled_from(PRIMITIVE_TYPES) | st.builds(
    lambda symbols: enum(*symbols), st.lists(st.sampled_from("ABCD"), min_size=1, unique=True)
)


def _types(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return leaf
    inner = _types(depth - 1)
    return st.one_of(
        leaf,
        st.builds(lambda t: {"type": "array", "items": t}, inner),
        st.builds(lambda t: {"type": "map", "values": t}, inner),
        st.builds(lambda t: ["null", t] if t != "null" and not isinstance(t, list) else t, inner),
    )


def _named(avro_type: Any, name: str) -> Any:
    """The type with its enum (at most one, the leaf) named after the field, so names are unique."""
    if isinstance(avro_type, list):
        return [_named(branch, name) for branch in avro_type]
    if isinstance(avro_type, dict) and avro_type["type"] == "enum":
        return {**avro_type, "name": name}
    if isinstance(avro_type, dict) and avro_type["type"] in ("array", "map"):
        part = "items" if avro_type["type"] == "array" else "values"
        return {**avro_type, part: _named(avro_type[part], name)}
    return avro_type


# Built once and drawn from many times: hypothesis validates a strategy on every draw, and one
# built afresh per draw is validated afresh, which cost most of this test's time. The draws are
# the same, in the same order, from strategies of the same definition: the same pairs.
FIELD_TYPES = _types(1)
FIELD_NAMES = st.lists(st.sampled_from("abcdef"), unique=True, max_size=4)


@functools.cache
def _renamed(names: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(names), max_size=2)


def _fields(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(FIELD_NAMES)
    found = {}
    for name in names:
        field: dict[str, Any] = {"name": name, "type": _named(draw(FIELD_TYPES), f"E{name}")}
        if draw(st.booleans()) and field["type"] == "int":
            field["default"] = 0
        if draw(st.booleans()) and isinstance(field["type"], list):
            field["default"] = None
        found[name] = field
    return found


@st.composite
def schema_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    writer = _fields(draw)
    reader = _fields(draw) if draw(st.booleans()) else dict(writer)
    for name in draw(_renamed(tuple(sorted(writer) or ["a"]))):
        if name in reader:
            reader[name] = {"name": name, "type": _named(draw(FIELD_TYPES), f"E{name}")}
    return record(*reader.values()), record(*writer.values())


def apache_verdict(reader: Any, writer: Any) -> bool:
    checker = avro.compatibility.ReaderWriterCompatibilityChecker()
    result = checker.get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    return result.compatibility is avro.compatibility.SchemaCompatibilityType.compatible


@settings(max_examples=600, deadline=None)
@given(pair=schema_pairs())
def test_agrees_with_apache_avro(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    reader, writer = pair
    verdict = not incompatibilities(reader, writer)
    event("compatible" if verdict else "incompatible")
    assert verdict == apache_verdict(reader, writer)
