"""Quiet subjects kept quiet after their events, under histories rich in late events.

:func:`hub.backtest.schedule.added_alone` keeps a quiet subject quiet after an event until
the earlier of its wake and the event dispatch's own next instant (:meth:`hub.backtest.
schedule.Instants.wake`). One of those instants is the first a trim may drop a contribution
(:meth:`~hub.backtest.schedule.Instants.dropped`): a late event that joins a quiet subject's
window as its oldest contribution brings it forward, before the wake the subject had. The
differential histories of :mod:`tests.unit.backtest.test_quiet_after_events` record one
event in thirty late, and only one of their six seeds met such a drop; these record one in three
late, so that the drop of a late event joined to a quiet subject is met in every seed. With
that module's one seed (5) they are the histories of the differential test, and each is the
only one to catch a mutation (its docstring lists them): 100 the kept subject's wake with
the drop instant of the window before the event, 101 ``Instants.due`` without the consents'
times and ``Instants.wake`` without the trim's drop instant.

They also check what makes the backtest's ``step.pending`` test redundant today: an event's
dispatch that sends something always changes more than its window (a flag held or closed),
so :func:`~hub.backtest.schedule.added_alone` is false of it. Should a dispatch ever send an
alert and leave the state as before but for the event, the ``step.pending`` test is what
keeps the subject from staying quiet, and this check says so.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from hub.backtest import Backtest
from hub.backtest.plan import Sealed
from hub.backtest.schedule import added_alone
from hub.backtest.sources import Sealer
from hub.config import Settings
from hub.dispatch import Step, SubjectState
from hub.feeds.source import SourceEvent
from tests.unit.backtest import test_quiet_after_events as quiet_after
from tests.unit.backtest.test_quiet_after_events import (
    _setup,
    history,
    lockstep,
    runners,
    settings,  # noqa: F401  # the fixture
)


def _late(rate: float) -> Callable[[Sealer, list[SourceEvent], random.Random], list[Sealed]]:
    """:func:`quiet_after._sealed` with ``rate`` of the people's events recorded late."""
    sealed = quiet_after._sealed  # the module's own, before the test patches it

    def late(sealer: Sealer, events: list[SourceEvent], rng: random.Random) -> list[Sealed]:
        return sealed(sealer, events, rng, rate)

    return late


def _checking_sends(runner: Backtest, sent: list[int]) -> None:
    """Have ``runner`` check, of each event's dispatch that sends something, that its state
    is not its state before with the event added alone (lockstep removes the check after a
    chunk: it is set again for each)."""
    apply = runner._apply

    def checked(token: str, step: Step, at: object = None) -> None:
        if at is None and step.pending:  # an event's dispatch (a tick's passes its time)
            before = runner._states.get(token) or SubjectState()
            assert not added_alone(before, step.state)
            sent[0] += 1
        if at is None:
            apply(token, step)
        else:
            apply(token, step, at)  # type: ignore[arg-type]

    runner._apply = checked  # type: ignore[method-assign]


@pytest.mark.timeout(300)  # a history sealed and run twice: about 30 s, more on a busy host
@pytest.mark.parametrize("seed", [100, 101])
def test_late_events_of_quiet_subjects_wake_them_when_the_trim_may_drop_them(
    settings: Settings,  # noqa: F811
    seed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(quiet_after, "_sealed", _late(1 / 3))
    quiet, ticked = runners(_setup(settings, random.Random(seed)))
    sent = [0]
    for chunk in history(settings, seed):
        _checking_sends(quiet, sent)
        lockstep(quiet, ticked, chunk)
    assert quiet.finish().to_json() == ticked.finish().to_json()
    assert quiet.kept > 0
    assert sent[0] > 0  # not vacuous: events' dispatches sent alerts
