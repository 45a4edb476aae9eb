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

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def built(cls: type[M], values: dict[str, Any]) -> M:
    """A ``cls`` holding ``values`` (every field named, each already of its field's type)."""
    new = _new(cls)
    _dict(new, values)
    _fields_set(new, set(values))
    _extra(new, None)
    _private(new, None)
    return new


def replaced(model: M, **changes: Any) -> M:
    """``model.model_copy(update=changes)``, for values already of their fields' types."""
    if model.__pydantic_private__ is not None or model.__pydantic_extra__ is not None:
        return model.model_copy(update=changes)
    new = _new(type(model))
    _dict(new, {**model.__dict__, **changes})
    _fields_set(new, model.__pydantic_fields_set__ | changes.keys())
    _extra(new, None)
    _private(new, None)
    return new


# BaseModel defines no __new__: object's is the one ``cls(...)`` and ``model_construct`` call.
_new = object.__new__
# BaseModel's slots, set through their descriptors: what ``object.__setattr__`` (pydantic's
# way past a frozen model's own ``__setattr__``) finds for them, found once instead of per call.
_dict = vars(BaseModel)["__dict__"].__set__
_fields_set = vars(BaseModel)["__pydantic_fields_set__"].__set__
_extra = vars(BaseModel)["__pydantic_extra__"].__set__
_private = vars(BaseModel)["__pydantic_private__"].__set__
