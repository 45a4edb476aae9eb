"""A benchmark keeps its own collector out of what it measures (hub.gcpolicy.own_heap_frozen)."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest

from hub.gcpolicy import OwnCollections, own_heap_frozen


class Held:
    """An object the collector tracks (an instance with a ``__dict__``)."""


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Nothing frozen during the test, whatever an earlier test in this process froze; a
    freeze found is made again afterwards."""
    was_frozen = gc.get_freeze_count() > 0
    gc.unfreeze()
    yield
    if was_frozen:
        gc.freeze()


@pytest.mark.usefixtures("unfrozen")
def test_the_heap_is_frozen_while_measuring_and_unfrozen_after() -> None:
    held = [Held() for _ in range(1_000)]  # as the bench holds its loads
    with own_heap_frozen() as own:
        # A full collection now walks only what the measurement allocates, not the loads.
        assert gc.get_freeze_count() >= len(held)
        assert not any(o is held for o in gc.get_objects())
        assert own.tracked < gc.get_freeze_count()
        assert own.frozen >= len(held)  # what the freeze took out of a collection's walk
        assert own.summary(0.0)["frozen_at_start"] == own.frozen
        assert gc.get_count()[2] == 0  # the counts an earlier phase left are reset
    assert gc.get_freeze_count() == 0
    assert any(o is held for o in gc.get_objects())


@pytest.mark.usefixtures("unfrozen")
def test_a_freeze_made_before_is_left_in_place() -> None:
    gc.freeze()  # as hub.gcpolicy.settle does in a process that ran another benchmark first
    with own_heap_frozen():
        pass
    assert gc.get_freeze_count() > 0


def test_own_collections_notes_each_collection_while_listening_only() -> None:
    started = time.time()
    own = OwnCollections.start()
    gc.collect(0)
    gc.collect(2)
    own.stop()
    gc.collect(1)  # after stop: not noted
    assert [generation for _, generation, _ in own.noted] == [0, 2]
    assert all(started <= began <= time.time() and took >= 0 for began, _, took in own.noted)
    summary = own.summary(started)
    assert summary["collections"] == [1, 0, 1]
    assert summary["total_ms"] >= summary["longest_ms"] >= 0


def test_own_collections_with_none_says_so() -> None:
    summary = OwnCollections().summary(time.time())
    assert summary["collections"] == [0, 0, 0]
    assert summary["longest_ms"] == 0.0
