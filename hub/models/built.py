"""Models built from values already valid, at a fraction of pydantic's cost.

On the hot path the hub builds many models from values that were validated already (a
decoded event's envelope, a contribution's own fields, a window's canonical contributions).
``Model(**values)`` validates them again, and pydantic's ``model_construct`` and
``model_copy`` walk every field in Python; both cost several microseconds per model.
:func:`built` and :func:`replaced` set the instance's ``__dict__`` as those two do, and
nothing else: the result is the same model, field for field and byte for byte as JSON (the
unit tests compare them).

Only for models without private attributes, validators that change values, or
``model_post_init``: the caller vouches that every value already has its field's type.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def built(cls: type[M], values: dict[str, Any]) -> M:
    """A ``cls`` holding ``values`` (every field named, each already of its field's type)."""
    shared = _EVERY_FIELD.get(cls)
    if shared is None:
        shared = _every_field(cls)
    return _made(cls, values, shared if shared and values.keys() == shared else set(values))


def built_whole(cls: type[M], values: dict[str, Any]) -> M:
    """:func:`built` for values whose keys the caller has checked are every field of
    ``cls``: their set is not compared again (the envelope's keys are checked in order by
    ``plain_envelope``, an event's named by its literal). A class that is not frozen, or
    not met yet, goes through :func:`built`."""
    shared = _EVERY_FIELD.get(cls)
    if not shared:
        return built(cls, values)
    return _made(cls, values, shared)


def replaced(model: M, **changes: Any) -> M:
    """``model.model_copy(update=changes)``, for values already of their fields' types."""
    if model.__pydantic_private__ is not None or model.__pydantic_extra__ is not None:
        return model.model_copy(update=changes)
    cls = type(model)
    names = model.__pydantic_fields_set__
    if names is not _EVERY_FIELD.get(cls):  # else every field is set already
        names = names | changes.keys()
    return _made(cls, {**model.__dict__, **changes}, names)


def replaced_one(model: M, name: str, value: Any) -> M:
    """``replaced(model, **{name: value})``, for one field: without the keyword dictionary
    and its merge (a window grown by a contribution and its state given the new window:
    twice an event, 0.2 to 0.5 µs less a call)."""
    if model.__pydantic_private__ is not None or model.__pydantic_extra__ is not None:
        return model.model_copy(update={name: value})
    cls = type(model)
    values = model.__dict__.copy()
    values[name] = value  # in the field's place, as the merge puts it
    names = model.__pydantic_fields_set__
    if names is not _EVERY_FIELD.get(cls):  # else every field is set already
        names = names | {name}
    return _made(cls, values, names)


def _made(cls: type[M], values: dict[str, Any], names: AbstractSet[str]) -> M:
    """A ``cls`` holding ``values`` with ``names`` its fields set, no extra and no private
    attributes: what :func:`built`, :func:`built_whole`, :func:`replaced` and
    :func:`replaced_one` make, without pydantic's validation."""
    new = _new(cls)
    _dict(new, values)
    _fields_set(new, names)
    _extra(new, None)
    _private(new, None)
    return new


def slot_setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The ``__set__`` of each named field's slot descriptor of a frozen slotted dataclass.

    Its generated ``__init__`` reaches them through ``object.__setattr__``, one call per
    field; an ``__init__`` (or builder) calling them directly makes the same instance in
    about half the time (a frozen dataclass refuses its own ``__setattr__``, not its
    descriptors'). For objects made once per event on the hot path."""
    return tuple(vars(cls)[name].__set__ for name in names)


def _every_field(cls: type[BaseModel]) -> set[str]:
    """The fields set shared by every instance of a frozen ``cls`` that names all its fields
    (an empty set, meaning none, for a class that is not frozen)."""
    frozen = cls.model_config.get("frozen", False)
    found = _EVERY_FIELD[cls] = set(cls.model_fields) if frozen else set()
    return found


_EVERY_FIELD: dict[type[BaseModel], set[str]] = {}
"""Per model class, the set of all its fields, shared by its instances' ``fields_set``
(see :func:`built`). Never change a frozen model's ``model_fields_set`` in place: the set is
every such instance's. Pydantic never does (a frozen model refuses assignment before it
touches the set; ``model_copy`` copies it first), and it cannot be a frozenset, because
``model_copy`` updates its copy in place."""
# BaseModel defines no __new__: object's is the one ``cls(...)`` and ``model_construct`` call.
_new = object.__new__
# BaseModel's slots, set through their descriptors: what ``object.__setattr__`` (pydantic's
# way past a frozen model's own ``__setattr__``) finds for them, found once instead of per call.
_dict = vars(BaseModel)["__dict__"].__set__
_fields_set = vars(BaseModel)["__pydantic_fields_set__"].__set__
_extra = vars(BaseModel)["__pydantic_extra__"].__set__
_private = vars(BaseModel)["__pydantic_private__"].__set__
