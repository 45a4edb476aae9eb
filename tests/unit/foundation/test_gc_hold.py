"""Young collections held off while the worker is behind (hub.gcpolicy.YoungHold).

The hold is driven by the times the test passes (monotonic seconds, event ages); the
collector's callback is called as the collector would call it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from hub.gcpolicy import YoungHold, young_hold

YOUNG = {"generation": 0, "collected": 0, "uncollectable": 0}


@pytest.fixture(autouse=True)
def collector_enabled() -> Iterator[None]:
    """The collector enabled after each test, whatever the hold left."""
    yield
    gc.enable()


def test_records_older_than_the_bound_hold_young_collections_off() -> None:
    hold = YoungHold(behind_s=0.1, caught_up_s=0.25, max_s=2.0)
    hold.note(0.05, now=10.0)
    assert gc.isenabled()
    hold.note(0.15, now=10.1)
    assert not gc.isenabled()
    assert hold.held_since == 10.1


def test_the_hold_ends_once_no_late_record_has_come_for_a_while() -> None:
    hold = YoungHold(behind_s=0.1, caught_up_s=0.25, max_s=2.0)
    hold.note(0.3, now=10.0)
    hold.note(0.02, now=10.2)  # a fresh record, but a late one came 200 ms ago
    assert not gc.isenabled()
    hold.refresh(10.26)  # the timer, no record since
    assert gc.isenabled()
    assert hold.held_since is None
    hold.note(0.3, now=10.3)  # behind again: held again at once
    assert not gc.isenabled()


def test_a_hold_never_lasts_past_its_bound_and_the_next_waits_for_a_collection() -> None:
    hold = YoungHold(behind_s=0.1, caught_up_s=0.25, max_s=2.0)
    hold.note(0.5, now=10.0)
    for step in range(1, 20):  # always behind
        hold.note(0.5, now=10.0 + step * 0.1)
    assert not gc.isenabled()
    hold.note(0.5, now=12.0)
    assert gc.isenabled()  # two seconds: the collector runs
    hold.note(0.5, now=12.1)
    assert gc.isenabled()  # no new hold before a young collection
    hold("start", YOUNG)
    hold("stop", YOUNG)
    hold.note(0.5, now=12.2)
    assert not gc.isenabled()


def test_records_without_an_origin_never_hold() -> None:
    hold = YoungHold()
    for step in range(10):
        hold.note(None, now=step * 0.1)
    assert gc.isenabled()
    assert hold.held_since is None


def test_the_process_has_one_hold_and_it_hears_the_collector() -> None:
    hold = young_hold()
    assert young_hold() is hold
    assert hold in gc.callbacks
    before = hold.young
    gc.collect(0)
    assert hold.young == before + 1


class CollectingLogger:
    """A logger whose every line runs a young collection first, as an allocation inside a
    log call can once the collector is enabled again."""

    def __init__(self, hold: YoungHold) -> None:
        self.hold = hold
        self.lines: list[tuple[str, dict[str, object]]] = []

    def info(self, event: str, **fields: object) -> None:
        self.hold("start", YOUNG)
        self.hold("stop", YOUNG)
        self.lines.append((event, fields))


def test_a_collection_run_by_the_hold_s_own_log_line_counts_as_the_one_after_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hold = YoungHold(behind_s=0.1, caught_up_s=0.25, max_s=2.0)
    logger = CollectingLogger(hold)
    monkeypatch.setattr("hub.gcpolicy.structlog.get_logger", lambda *_: logger)
    hold.note(0.5, now=10.0)
    hold.note(0.5, now=12.0)  # the bound: enabled, and the log line's allocation collects
    assert gc.isenabled()
    assert [event for event, _ in logger.lines] == ["gc_held"]
    assert logger.lines[0][1]["bounded"] is True
    hold.note(0.5, now=12.1)  # that collection ran: a new hold may begin
    assert not gc.isenabled()
