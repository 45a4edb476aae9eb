"""Every field of a subject state is one that :meth:`SubjectState.to_bytes` knows about.

``to_bytes`` writes a state with no window floors, held flags, expiry floors, retraction
counts and consent as one shared tail; it lists those fields by name. A field added to
:class:`~hub.disclosure.SubjectState`, its window or its consent ledger without adding it there
would be written as that tail, wrong. ``test_state_json`` checks the bytes of a state with
each one part set; this test checks that those states set every field there is, so a new
field fails here until it has its own one-part state (and ``to_bytes`` its clause).
"""

from __future__ import annotations

from pydantic import BaseModel

from hub.consent import ConsentLedger
from hub.disclosure import SubjectState
from hub.flags import SubjectWindow
from tests.unit.flags.test_state_json import _one_part_states

_CONTAINERS = {"window", "consent"}
"""The state's fields that hold the other two models: their own fields are checked."""

_ALWAYS_SET = {"contributions"}
"""Every one-part state has contributions: a state with only contributions is the shared tail."""


def _set_fields(model: BaseModel) -> set[str]:
    """The names of ``model``'s fields that differ from a new model's (nested models by name)."""
    empty = type(model)()
    fields = type(model).model_fields
    return {name for name in fields if getattr(model, name) != getattr(empty, name)}


def _parts(state: SubjectState) -> set[str]:
    """The state's set fields, its window's and consent ledger's fields named by themselves."""
    return (
        (_set_fields(state) - _CONTAINERS) | _set_fields(state.window) | _set_fields(state.consent)
    ) - _ALWAYS_SET


def test_the_one_part_states_set_every_field_of_the_state_its_window_and_its_consent() -> None:
    every = (
        (set(SubjectState.model_fields) - _CONTAINERS)
        | set(SubjectWindow.model_fields)
        | set(ConsentLedger.model_fields)
    ) - _ALWAYS_SET
    states = _one_part_states()
    parts = [_parts(s) for s in states]
    assert parts[0] == set(), "the first state is the one with only contributions"
    assert all(len(p) == 1 for p in parts[1:]), parts  # one part each, as its name says
    assert set().union(*parts) == every
