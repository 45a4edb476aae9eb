"""Field tests compiled for matching: one set lookup instead of a scan, the same answers.

:mod:`hub.rules.condition` says what a test means. For ``==``, ``in``, ``!=`` and ``not in``
on a scalar that is whether (type, value) is among the test's values (a boolean never
equals an integer), which a frozenset answers at once. Every other case (orderings,
``contains``, a value that cannot be hashed) is asked of the test itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from hub.rules import FieldTest, FieldValue

Predicate = Callable[[Mapping[str, FieldValue]], bool]
_MEMBERSHIP = frozenset({"==", "in", "!=", "not in"})


def compiled(test: FieldTest) -> Predicate:
    """A function of a contribution's fields that answers exactly as ``test.matches``."""
    if test.op not in _MEMBERSHIP:
        return test.matches
    wanted = frozenset((type(v), v) for v in test.values)
    negated = test.op in {"!=", "not in"}
    name = test.field

    def matches(fields: Mapping[str, FieldValue]) -> bool:
        if name not in fields:
            return False
        actual = fields[name]
        if isinstance(actual, tuple):  # an array field is never equal to a scalar
            return False
        try:
            return ((type(actual), actual) in wanted) != negated
        except TypeError:  # unhashable: not a FieldValue, let the test decide
            return test.matches(fields)

    return matches
