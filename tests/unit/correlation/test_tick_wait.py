"""A clock-tick turn waits while the worker is behind, at most its bound
(hub.correlation.ticks.wait_while_behind); sleeps and the backlog are the test's."""

from __future__ import annotations

from hub.correlation.ticks import Backlog, wait_while_behind


class Sleeps:
    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


async def test_a_turn_does_not_wait_when_the_worker_keeps_up() -> None:
    sleeps = Sleeps()
    assert await wait_while_behind(lambda: False, 3.75, sleeps) == 0.0
    assert sleeps.asked == []


async def test_a_turn_waits_until_the_worker_has_caught_up() -> None:
    sleeps = Sleeps()
    answers = iter([True, True, True, False])
    waited = await wait_while_behind(lambda: next(answers), 3.75, sleeps, poll_s=0.02)
    assert sleeps.asked == [0.02, 0.02, 0.02]
    assert waited == sum(sleeps.asked)


async def test_a_turn_never_waits_past_its_bound() -> None:
    sleeps = Sleeps()
    waited = await wait_while_behind(lambda: True, 0.05, sleeps, poll_s=0.02)
    assert waited == sum(sleeps.asked)
    assert abs(waited - 0.05) < 1e-9
    assert len(sleeps.asked) == 3  # 0.02, 0.02 and what was left of the bound


def test_the_worker_is_behind_until_no_late_event_has_come_for_a_while() -> None:
    backlog = Backlog(behind_s=0.1, caught_up_s=0.25)
    backlog.note(0.05, now=10.0)
    backlog.note(None, now=10.0)  # no origin header: says nothing
    assert not backlog.behind(10.0)
    backlog.note(0.3, now=10.1)
    backlog.note(0.02, now=10.2)  # a fresh event, but a late one came 100 ms ago
    assert backlog.behind(10.2)
    assert backlog.behind(10.34)
    assert not backlog.behind(10.36)
