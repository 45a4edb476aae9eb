"""A run's steps are numbered for the whole run, chunk after chunk (:class:`hub.backtest.plan.
Planner`): each message taken its number, each tick the number of messages taken before it,
one tick per event-time day, and a message taken at once is taken at the run's clock."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.backtest.envelope import EnvelopeRead, Envelopes
from hub.backtest.plan import Planned, Planner, Take, Tick
from tests.integration.events import STORE
from tests.unit.backtest.test_envelope import PERIOD, _message, _values


def test_steps_are_numbered_and_ticked_across_chunks() -> None:
    envelopes = Envelopes(STORE)
    values = sorted(_values(), key=lambda v: envelopes(v).recorded_at)
    day = [envelopes(v).recorded_at.date() for v in values]
    half = next(n for n in range(len(values) // 2, len(values)) if day[n - 1] == day[n])
    chunks = [
        [_message(v) for v in values[:half]],
        [_message(b"junk")] + [_message(v) for v in values[half:]],
    ]
    for read in (EnvelopeRead.ahead(envelopes, STORE.decode), EnvelopeRead.alone(envelopes)):
        planner = Planner(PERIOD, read)
        planned = [planner.steps(chunk) for chunk in chunks]
        steps: list[Planned] = [*planned[0], *planned[1]]
        taken, days = 0, []
        for step in steps:
            if isinstance(step, Tick):
                assert step.offset == taken  # the messages taken before it
                assert step.at == datetime.combine(step.at.date(), datetime.min.time(), UTC)
                days.append(step.at.date())
            else:
                assert isinstance(step, Take)
                taken += 1
                assert step.offset == taken
        assert taken == len(values) + 1
        timed = [s for s in steps if isinstance(s, Take) and s.event_id is not None]
        assert days == sorted(
            {s.now.date() for s in timed}
        )  # one tick a day, in order: none again for the day the first chunk ended on
        junk = next(s for s in planned[1] if isinstance(s, Take))
        assert junk.event_id is None  # taken at once, at the clock the first chunk left
        assert junk.now == max(s.now for s in planned[0] if isinstance(s, Take))
        assert (planner.offset, planner.now) == (taken, timed[-1].now)
