"""A window's classes (:class:`hub.classified.Classified`): its set of classes, found when
first asked and kept, and each class's first facts, in order."""

from __future__ import annotations

from typing import cast

from hub.classified import Class, Classified
from hub.disclosure import event_facts
from hub.dsa import Evaluator
from tests.unit.flags.builders import CONTRIBUTING, TOKEN, built, contribution


def _classified(kinds: list[Class]) -> Classified:
    window = built([contribution(CONTRIBUTING[0], day) for day in range(len(kinds))])
    facts = [event_facts(c, TOKEN) for c in window.contributions]
    return Classified(window, (cast(Evaluator, object()), TOKEN), (facts, kinds))


_A: Class = ("police.arrest", "police", None, 15)
_B: Class = ("police.arrest", "police", "E06000038", 15)
_C: Class = ("csc.exploitation_screening", "childrens-social-care", None, None)


def test_the_classes_are_the_set_of_each_contributions_class_found_once() -> None:
    known = _classified([_A, _B, _A, _C, _B])
    classes = known.classes
    assert classes == frozenset({_A, _B, _C})
    assert known.classes is classes  # kept: found once
    assert _classified([]).classes == frozenset()


def test_each_class_is_given_its_first_contributions_facts_in_order() -> None:
    known = _classified([_B, _A, _B, _C, _A])
    first = known.first
    assert list(first) == [_B, _A, _C]
    assert [f.event_id for f in first.values()] == [
        known.facts[0].event_id,
        known.facts[1].event_id,
        known.facts[3].event_id,
    ]
