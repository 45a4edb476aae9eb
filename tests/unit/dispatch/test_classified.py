"""A window's classes (:class:`hub.classified.Classified`): each a number of one evaluator's
:class:`~hub.classified.Numbering`, their set as one int, found when first asked and kept,
and each class's first facts, in order."""

from __future__ import annotations

from typing import cast

from hub.classified import Class, Classified, Numbering, bits_of
from hub.disclosure import event_facts
from hub.dsa import Evaluator
from tests.unit.flags.builders import CONTRIBUTING, TOKEN, built, contribution

_A: Class = ("police.arrest", "police", None, 15)
_B: Class = ("police.arrest", "police", "E06000038", 15)
_C: Class = ("csc.exploitation_screening", "childrens-social-care", None, None)


def _classified(kinds: list[Class]) -> Classified:
    window = built([contribution(CONTRIBUTING[0], day) for day in range(len(kinds))])
    facts = [event_facts(c, TOKEN) for c in window.contributions]
    numbering = Numbering(cast(Evaluator, object()))
    return Classified(window, (numbering, TOKEN), (facts, [numbering.number(k) for k in kinds]))


def test_classes_are_numbered_from_0_in_the_order_met_and_keep_their_number() -> None:
    numbering = Numbering(cast(Evaluator, object()))
    assert [numbering.number(k) for k in (_B, _A, _B, _C, _A)] == [0, 1, 0, 2, 1]
    assert numbering.numbers == {_B: 0, _A: 1, _C: 2}
    assert numbering.full(3)
    assert not numbering.full(4)
    assert numbering.number(("police.arrest", "police", None, 15)) == 1  # equal, not the same


def test_the_classes_are_the_set_of_each_contributions_class_found_once() -> None:
    known = _classified([_A, _B, _A, _C, _B])
    assert known.kinds == [0, 1, 0, 2, 1]
    assert known.bits == 0b111
    assert _classified([_B, _B]).bits == 0b1
    assert _classified([]).bits == 0
    assert bits_of([5, 0, 5]) == 0b100001
    known.bits = 0b1000  # kept: found once, or carried from the window before
    assert known.bits == 0b1000


def test_each_class_is_given_its_first_contributions_facts_in_order() -> None:
    known = _classified([_B, _A, _B, _C, _A])
    first = known.first
    assert list(first) == [0, 1, 2]
    assert [f.event_id for f in first.values()] == [
        known.facts[0].event_id,
        known.facts[1].event_id,
        known.facts[3].event_id,
    ]
    assert known.first is first
