"""A clock tick waits while the correlate agent is behind, at most a bound
(``agents.correlate.Backlog``, ``caught_up``). Times come from a clock the test moves."""

from __future__ import annotations

from agents.correlate import BEHIND_S, IDLE_S, TICK_POLL_S, Backlog, caught_up


class Clock:
    """A clock the test sets; sleeping moves it on."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_an_agent_taking_records_that_waited_is_behind_until_it_idles() -> None:
    clock = Clock()
    backlog = Backlog(clock)
    assert not backlog.behind()  # nothing taken yet
    backlog.took(clock.now - BEHIND_S / 2)  # a record that barely waited
    assert not backlog.behind()
    backlog.took(clock.now - 0.3)  # a record that waited 300 ms
    assert backlog.behind()
    clock.now += IDLE_S  # nothing taken since: caught up
    assert not backlog.behind()


async def test_a_tick_waits_while_the_agent_is_behind_and_goes_once_it_has_caught_up() -> None:
    clock = Clock()
    backlog = Backlog(clock)
    taken = 0

    async def sleep(seconds: float) -> None:
        nonlocal taken
        await clock.sleep(seconds)
        taken += 1
        if taken <= 3:  # the agent takes three more late records, then none
            backlog.took(clock.now - 0.2)

    backlog.took(clock.now - 0.2)
    await caught_up(backlog, 10.0, sleep)
    assert taken > 3  # it waited through the three late records
    assert not backlog.behind()
    idle = clock.now - backlog.taken_at  # the tick went once the agent had idled IDLE_S
    assert IDLE_S <= idle < IDLE_S + TICK_POLL_S


async def test_a_tick_is_never_deferred_longer_than_its_bound() -> None:
    clock = Clock()
    backlog = Backlog(clock)

    async def sleep(seconds: float) -> None:
        await clock.sleep(seconds)
        backlog.took(clock.now - 0.5)  # always behind: a sustained overload

    backlog.took(clock.now - 0.5)
    await caught_up(backlog, 1.0, sleep)
    assert backlog.behind()  # still behind, yet the tick goes
    assert 1.0 <= sum(clock.slept) < 1.0 + 2 * TICK_POLL_S


async def test_a_tick_does_not_wait_when_the_agent_keeps_up() -> None:
    clock = Clock()
    backlog = Backlog(clock)
    backlog.took(clock.now - 0.02)
    await caught_up(backlog, 1.0, clock.sleep)
    assert clock.slept == []
