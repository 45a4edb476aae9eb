"""The two-generation memo (``hub.flags.memo.Bounded``) and the matcher's memos made of it,
checked by review (``review19b``): a generation forgotten is freed, each generation's
weight is the weight of what it holds, and a lookup never gives back a value replaced since."""

from __future__ import annotations

import gc
import weakref
from random import Random

import pytest

from hub.flags.memo import Bounded


class _Value:
    """A value a weak reference can watch (a tuple or an int cannot be)."""

    __slots__ = ("__weakref__", "weight")

    def __init__(self, weight: int) -> None:
        self.weight = weight


def test_a_generation_forgotten_is_freed() -> None:
    """Once the older generation is forgotten (two turns after a put), nothing of the memo
    holds its values: a turned generation must not keep a reference to the one before it,
    or every generation ever made would stay in memory, linked one to the next. A memo
    cleared finds nothing put before and holds nothing."""
    memo: Bounded[int, _Value] = Bounded(entries=4, weight=100)
    first = _Value(1)
    watched = weakref.ref(first)
    memo.put(-1, first, 1)
    del first
    for key in range(6):  # three turns: the first generation is two behind
        memo.put(key, _Value(1), 1)
        assert memo.get(key) is not None
    gc.collect()
    assert watched() is None
    assert memo.get(-1) is None
    memo.clear()  # nothing found after, and nothing held
    assert (memo.get(5), len(memo), memo.held(), list(memo.values())) == (None, 0, 0, [])


@pytest.mark.parametrize("seed", range(30))
def test_each_generation_weighs_what_it_holds_and_never_gives_a_replaced_value(
    seed: int,
) -> None:
    """Random puts (keys put again, heavy values, weights of 0) and lookups (which copy a
    value found in the older generation into the newer): every value a generation holds
    is weighed with the weight it was put with, each generation holds at most half the
    entries and half the weight, and a lookup gives the value last put for its key or
    none, never one put before it; ``values`` gives the newer's then the older's and
    ``held`` their sum."""
    rng = Random(seed)
    memo: Bounded[int, tuple[int, _Value]] = Bounded(rng.randint(2, 12), rng.randint(4, 40))
    last: dict[int, tuple[int, _Value]] = {}
    for step in range(400):
        key = rng.randint(0, 12)
        if rng.random() < 0.4:
            found = memo.get(key)
            assert found is None or found is last[key]
        else:
            value = (step, _Value(rng.choice([0, 1, 2, 3, 5, 8, memo.weight // 2 + 1])))
            memo.put(key, value, value[1].weight)
            last[key] = value
        for generation in (memo._new, memo._old):
            assert generation.keys() == generation.weights.keys()
            assert all(generation.weights[k] == v[1].weight for k, v in generation.items())
            assert generation.held == sum(v[1].weight for v in generation.values())
            assert generation.held <= memo.weight // 2
            assert len(generation) <= memo.entries // 2
            # a value the newer holds is the last one put; the older's is unless the newer
            # holds a later one for the key (it is then never looked up there)
            assert all(v is last[k] for k, v in memo._new.items())
            assert all(v is last[k] or k in memo._new for k, v in memo._old.items())
        assert list(memo.values()) == [*memo._new.values(), *memo._old.values()]
        assert memo.held() == memo._new.held + memo._old.held
