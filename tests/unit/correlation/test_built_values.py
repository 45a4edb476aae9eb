"""Values the correlation service builds per event past a frozen dataclass's generated
``__init__`` (through the class's slot descriptors: :class:`~hub.disclosure.Step`,
:class:`~hub.disclosure.Trigger`, :class:`~hub.correlate.Folded`,
:class:`~hub.correlation.values.RowWrite`), and the SNA row's event digest from a copied
BLAKE2b state: each the same value as the plain construction gives, so the shortcut changes
nothing a reader can see."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.correlate import Folded
from hub.correlation.values import RowWrite
from hub.disclosure import EVERYONE, Counted, Step, SubjectState, Trigger
from hub.sna.stream import DIGEST_SIZE, digest_of


def _plain(cls: type[Any]) -> type[Any]:
    """The class as ``@dataclass(frozen=True, slots=True)`` would make it, with the
    generated ``__init__`` (the reference each shortcut is compared with)."""
    fields = [(f.name, f.type, f) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(f"Plain{cls.__name__}", fields, frozen=True, slots=True)


def _same(built: object, plain: object) -> None:
    """Every field of ``built`` equal to ``plain``'s (none added since and left unset)."""
    for field in dataclasses.fields(built):  # type: ignore[arg-type]
        assert getattr(built, field.name) == getattr(plain, field.name)


def test_steps_triggers_folds_and_row_writes_are_ordinary_frozen_dataclasses() -> None:
    """Every field set, defaults kept, keywords taken, equal and hashed by value, frozen,
    ``replace`` and pickle working, as for a generated ``__init__``."""
    state = SubjectState()
    counted = (Counted("r", "p", "deny"),)
    # distinct and not empty, so that a shortcut setting one field from the other fails
    pending: tuple[Any, ...] = ("a pending alert",)
    decisions: tuple[Any, ...] = ("a decision", "another")
    cases: list[tuple[object, tuple[Any, ...]]] = [
        (Step(state, (), ()), (state, (), ())),
        (Step(state, pending, decisions, counted), (state, pending, decisions, counted)),
        (Step(decisions=decisions, pending=pending, state=state), (state, pending, decisions)),
        (Trigger(), ()),
        (Trigger("e-1"), ("e-1",)),
        (Trigger(consent_before=state.consent), (None, state.consent)),
        (Folded("tok", "e-1", Step(state, (), ())), ("tok", "e-1", Step(state, (), ()))),
        (RowWrite("subjects", b"k", b"v"), ("subjects", b"k", b"v")),
    ]
    for built, args in cases:
        cls = type(built)
        plain = _plain(cls)(*args)
        _same(built, plain)
        assert repr(built) == repr(plain).replace(f"Plain{cls.__name__}", cls.__name__)
        values = [getattr(built, f.name) for f in dataclasses.fields(built)]  # type: ignore[arg-type]
        assert built == cls(*values)
        assert pickle.loads(pickle.dumps(built)) == built  # noqa: S301  # our own bytes
        first = dataclasses.fields(built)[0].name  # type: ignore[arg-type]
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(built, first, None)
    for hashable in (Trigger("e-1"), RowWrite("subjects", b"k", b"v")):
        values = [getattr(hashable, f.name) for f in dataclasses.fields(hashable)]
        assert hash(hashable) == hash(_plain(type(hashable))(*values))
    assert Step(state, (), ()).counted == ()
    assert Trigger() == EVERYONE
    assert Trigger("e-1") != Trigger(consent_before=None)
    assert dataclasses.replace(Trigger("e-1"), event_id="e-2") == Trigger("e-2")
    assert dataclasses.replace(Step(state, (), ()), counted=counted).counted == counted
    row = RowWrite("sna-counts", b"k", b"secret")
    assert "secret" not in repr(row)  # the value stays out of the repr, as declared
    assert dataclasses.replace(row, value=b"w") == RowWrite("sna-counts", b"k", b"w")


@given(st.text(max_size=80))
def test_an_event_ids_digest_is_blake2b_of_its_utf8(event_id: str) -> None:
    """The SNA row's digest of an event id, from a copied BLAKE2b state, is the one the
    constructor gives: rows written before and after read the same."""
    expected = hashlib.blake2b(event_id.encode(), digest_size=DIGEST_SIZE).digest()
    assert digest_of(event_id) == expected
    assert digest_of(event_id) == expected  # the state copied, never updated itself
