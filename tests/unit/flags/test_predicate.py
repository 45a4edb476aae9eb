"""Compiled field tests answer exactly as the tests themselves (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hub.flags.predicate import compiled
from hub.rules import FieldTest, parse_test
from tests.unit.flags.builders import RULES

SHIPPED = [t for r in RULES.rules for c in r.events for t in c.where]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.sampled_from(["A", "B", "SUSPECT", "VICTIM", "ROBBERY", "NOTHING_FOUND", "true", "1"]),
)
_values = st.one_of(_scalars, st.lists(st.sampled_from(["A", "B", "SUSPECT"])).map(tuple))


def _parsed(text: str) -> FieldTest | None:
    try:
        return parse_test(text)
    except ValueError:
        return None


@given(st.dictionaries(st.sampled_from(sorted({t.field for t in SHIPPED})), _values))
def test_every_shipped_test_compiled_answers_as_the_test(fields: dict[str, Any]) -> None:
    assert SHIPPED
    for test in SHIPPED:
        assert compiled(test)(fields) == test.matches(fields)


@given(
    st.sampled_from(["f", "g"]),
    st.sampled_from(["==", "!=", "in", "not in", "contains", ">=", "<"]),
    st.sampled_from(["A", "1", "true", "null", "[A, B]", "[1, true]", "[null, 2]", "[A]"]),
    st.dictionaries(st.sampled_from(["f", "g"]), st.one_of(_values, st.just(["A"]))),
)
def test_any_compiled_test_answers_as_the_test(
    field: str, op: str, values: str, fields: dict[str, Any]
) -> None:
    """Booleans against integers, nulls, arrays, and a list (unhashable) for good measure."""
    test = _parsed(f"{field} {op} {values}")
    if test is not None:
        assert compiled(test)(fields) == test.matches(fields)
