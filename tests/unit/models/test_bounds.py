"""Every string and array field is bounded, so a well-formed event cannot grow without limit."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import ValidationError
from hub.models import validate_event
from hub.models.rules import MAX_ITEMS, MAX_STRING, check_fields

from .conftest import Decoder


def test_strings_up_to_the_bound_are_accepted(decoded: Decoder) -> None:
    event = decoded("voluntary.engagement", consent_reference="c" * MAX_STRING)
    assert validate_event(event).fields["consent_reference"] == "c" * MAX_STRING


@pytest.mark.parametrize("length", [MAX_STRING + 1, 600 * 1024])
def test_a_longer_string_is_an_invalid_field(decoded: Decoder, length: int) -> None:
    event = decoded("voluntary.engagement", consent_reference="c" * length)
    with pytest.raises(ValidationError, match=r"consent_reference: must be at most 2000") as err:
        validate_event(event)
    assert "ccc" not in str(err.value)
    assert err.value.reason == "invalid_field"


def test_a_longer_array_is_an_invalid_field(decoded: Decoder) -> None:
    event = decoded("voluntary.engagement", needs=["PEER_INFLUENCE"] * (MAX_ITEMS + 1))
    with pytest.raises(ValidationError, match=r"needs: must have at most 100 items"):
        validate_event(event)
    assert validate_event(decoded("voluntary.engagement", needs=["PEER_INFLUENCE"] * MAX_ITEMS))


def _bounded_reference(fields: dict[str, Any]) -> tuple[str, str] | None:
    """The bound check as first written: every value seen as a list."""
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_ITEMS:
            return name, f"must have at most {MAX_ITEMS} items"
        if any(isinstance(v, str) and len(v) > MAX_STRING for v in values):
            return name, f"must be at most {MAX_STRING} characters"
    return None


class _Text(str):
    """A string of another type than ``str`` (the decoder gives exact types; others may not)."""


class _Items(list[Any]):
    """A list of another type than ``list``."""


_strings = st.integers(MAX_STRING - 1, MAX_STRING + 1).map(lambda n: "s" * n)
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    _strings,
    st.lists(st.one_of(_strings, st.integers()), max_size=3),
    st.integers(MAX_ITEMS - 1, MAX_ITEMS + 1).map(lambda n: ["A"] * n),
    _strings.map(_Text),
    st.integers(MAX_ITEMS - 1, MAX_ITEMS + 1).map(lambda n: _Items(["A"] * n)),
    st.floats(allow_nan=False),
    st.datetimes(),
)


@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _values, max_size=4))
def test_the_bound_check_equals_the_list_per_value_one(fields: dict[str, Any]) -> None:
    assert check_fields("police.arrest", fields, {}) == _bounded_reference(fields)
