"""Every string and array field is bounded, so a well-formed event cannot grow without limit."""

from __future__ import annotations

import pytest

from hub.errors import ValidationError
from hub.models import validate_event
from hub.models.rules import MAX_ITEMS, MAX_STRING

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
