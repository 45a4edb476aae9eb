"""The rota of clock ticks: one partition a turn, each held partition once per interval."""

from __future__ import annotations

from collections import Counter

import pytest

from hub.correlation.ticks import TickRota


def test_each_held_partition_gets_one_turn_per_round() -> None:
    rota = TickRota(4)
    turns = [rota.next({0, 1, 2, 3}) for _ in range(12)]
    assert turns == [(0,), (1,), (2,), (3,)] * 3


def test_a_partition_not_held_leaves_its_turn_a_gap() -> None:
    """The period of a held partition does not depend on how many this worker holds."""
    rota = TickRota(4)
    turns = [rota.next({1, 3}) for _ in range(8)]
    assert turns == [(), (1,), (), (3,)] * 2
    assert Counter(p for turn in turns for p in turn) == {1: 2, 3: 2}


def test_a_reassignment_takes_effect_at_the_next_turn() -> None:
    rota = TickRota(2)
    assert rota.next({0}) == (0,)
    assert rota.next({0}) == ()
    assert rota.next({0, 1}) == (0,)
    assert rota.next({0, 1}) == (1,)


def test_the_timer_fires_once_per_partition_per_interval() -> None:
    assert TickRota(4).period_s(30.0) == pytest.approx(7.5)
    assert TickRota(1).period_s(30.0) == pytest.approx(30.0)


def test_a_topic_without_partitions_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        TickRota(0)


def test_a_topic_with_more_partitions_than_the_settings_is_ticked_whole() -> None:
    """An operator may add partitions to the accepted topic: each one is still ticked once per
    round (its turn is its number modulo the settings' count), none is left without ticks."""
    rota = TickRota(4)
    turns = [rota.next(set(range(10))) for _ in range(8)]
    assert turns[:4] == [(0, 4, 8), (1, 5, 9), (2, 6), (3, 7)]
    assert Counter(p for turn in turns for p in turn) == dict.fromkeys(range(10), 2)
