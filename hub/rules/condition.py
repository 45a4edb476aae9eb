"""Field conditions of a rule: a tiny, explicit test language, parsed by hand (never eval).

::

    offence in [VIOLENCE_WITH_INJURY, ROBBERY]
    weapon != NONE
    gravity_score >= 3
    factors contains [CHILD_CRIMINAL_EXPLOITATION, GANGS]
    exploitation_concern == true

A test is ``<field> <operator> <value or [list]>``. Values are enum symbols (bare words),
integers, ``true``, ``false`` or ``null``. Operators:

- ``==`` / ``!=``: equal / not equal to one value;
- ``in`` / ``not in``: one of / none of a list;
- ``>=`` ``<=`` ``>`` ``<``: integer comparison (a null or missing value never matches);
- ``contains``: an array field holds the value, or any value of the list.

A field the contribution does not carry never matches, whatever the operator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

Scalar = str | int | bool | None
FieldValue = Scalar | tuple[str, ...]
Operator = Literal["==", "!=", "in", "not in", ">=", "<=", ">", "<", "contains"]

ORDERING: frozenset[str] = frozenset({">=", "<=", ">", "<"})
LIST_OPERATORS: frozenset[str] = frozenset({"in", "not in"})

_TEST = re.compile(
    r"^\s*(?P<field>[a-z_][a-z0-9_]*)\s+"
    r"(?P<op>==|!=|>=|<=|>|<|not\s+in|in|contains)\s+(?P<value>\S.*?)\s*$"
)
_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT = re.compile(r"^-?\d{1,18}$")
_WORDS: dict[str, Scalar] = {"true": True, "false": False, "null": None}


class FieldTest(BaseModel):
    """One parsed test on one type-specific field of a contributing event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    op: Operator
    values: tuple[Scalar, ...]

    def __str__(self) -> str:
        if self.op in LIST_OPERATORS or len(self.values) > 1:
            shown = "[" + ", ".join(_show(v) for v in self.values) + "]"
        else:
            shown = _show(self.values[0])
        return f"{self.field} {self.op} {shown}"

    def matches(self, fields: Mapping[str, FieldValue]) -> bool:
        """Whether the contribution's fields pass this test (a missing field never does)."""
        if self.field not in fields:
            return False
        return _apply(self.op, fields[self.field], self.values)


def parse_test(text: str) -> FieldTest:
    """Parse ``<field> <op> <value>``; ValueError says what is wrong (never echoes values)."""
    found = _TEST.match(text)
    if found is None:
        raise ValueError(
            "expected '<field> <operator> <value>' with operator one of "
            "==, !=, in, not in, >=, <=, >, <, contains"
        )
    op = " ".join(found["op"].split())
    values = _values(found["value"])
    if op in LIST_OPERATORS and not values[1]:
        raise ValueError(f"'{op}' needs a list such as [A, B]")
    if op in {"==", "!=", *ORDERING} and values[1]:
        raise ValueError(f"'{op}' takes one value, not a list")
    if op in ORDERING and not all(_is_int(v) for v in values[0]):
        raise ValueError(f"'{op}' compares integers only")
    return FieldTest(field=found["field"], op=op, values=values[0])


def _values(text: str) -> tuple[tuple[Scalar, ...], bool]:
    """The value(s) and whether they were written as a list."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError("a list must end with ']'")
        items = [item.strip() for item in text[1:-1].split(",")]
        if not items or any(not item for item in items):
            raise ValueError("a list needs comma-separated values")
        return tuple(_value(item) for item in items), True
    return (_value(text),), False


def _value(token: str) -> Scalar:
    if token in _WORDS:
        return _WORDS[token]
    if _INT.match(token):
        return int(token)
    if _SYMBOL.match(token):
        return token
    raise ValueError("a value must be a symbol, an integer, true, false or null")


def _is_int(value: Scalar) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _apply(op: str, actual: FieldValue, values: tuple[Scalar, ...]) -> bool:
    if op == "contains":
        return isinstance(actual, tuple) and any(v in actual for v in values)
    if isinstance(actual, tuple):
        return False
    if op in ORDERING:
        bound = values[0]
        if isinstance(actual, bool) or not isinstance(actual, int) or not isinstance(bound, int):
            return False
        return _compare(op, actual, bound)
    if op in {"==", "in"}:
        return any(_same(actual, v) for v in values)
    return not any(_same(actual, v) for v in values)  # "!=" and "not in"


def _same(actual: Scalar, expected: Scalar) -> bool:
    # True == 1 in Python; a boolean field must not equal an integer test, nor the reverse.
    return type(actual) is type(expected) and actual == expected


def _compare(op: str, actual: int, bound: int) -> bool:
    if op == ">=":
        return actual >= bound
    if op == "<=":
        return actual <= bound
    if op == ">":
        return actual > bound
    return actual < bound


def _show(value: Scalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
