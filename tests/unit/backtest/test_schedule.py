"""The scheduled backtest reports exactly what rescanning every flagged subject daily reports.

The load is the demo's generator over six months, longer than the rules' 90-day horizon
(flags raised, updated, expired and retracted; contributions dropped by the trim), decided by
today's agreements with two changed inside it: the police agreement ends in August (its
flags are retracted) and the education agreement starts in July (its flags are raised at a
tick, with no new event).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from hub.backtest import Backtest, Period
from hub.backtest.schedule import Instants, Wakes
from hub.config import Settings
from hub.consent import ConsentLedger
from hub.consent.record import ConsentRecord
from hub.dispatch import SubjectState
from hub.dsa import Purpose
from hub.flags import SubjectWindow
from tests.unit.backtest.loads import changed
from tests.unit.backtest.test_backtest import demo_chunks, sample_settings
from tests.unit.flags.builders import contribution

LONG = Period(date(2026, 4, 1), date(2026, 9, 30))  # longer than the rules' 90-day horizon


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return sample_settings(tmp_path_factory.mktemp("schedule"), rows=3000)


def test_the_scheduled_backtest_reports_what_daily_rescans_report(settings: Settings) -> None:
    """Over six months, longer than the horizon, contributions also drop while their subjects
    are quiet: the worker's state changes at that tick, so it records the tick's dispatch, and
    the scheduled backtest must count it too (before the floors stayed put it trimmed the
    subject and counted nothing). One run of each over the six months checks what a run of
    each over July to September did and what a run of each over the six months with the
    agreements unchanged did (two tests before, each sealing its own load)."""
    runs = {daily: Backtest(changed(settings, LONG), LONG, daily=daily) for daily in (True, False)}
    for chunk in demo_chunks(settings, LONG):
        for runner in runs.values():
            runner.feed(chunk)
    daily, scheduled = runs[True], runs[False]
    kinds: Counter[tuple[str, str]] = Counter()
    for (_, _, month), counts in daily.tally.alerts.items():
        kinds.update({(month, kind): n for kind, n in counts.items() if n})
    wanted = [("07", "raised"), ("07", "updated"), ("08", "raised"), ("08", "expired")]
    wanted += [("08", "retracted")]  # the police agreement ended
    assert all(kinds[(f"2026-{month}", f"flag.{kind}")] for month, kind in wanted), kinds
    assert {key[2] for key in daily.tally.decisions} == {f"2026-0{m}" for m in range(4, 10)}
    assert scheduled.rescans < daily.rescans / 3  # most ticks repeat the one before
    assert scheduled.tally == daily.tally  # every exact count, before suppression
    assert scheduled.finish().to_json() == daily.finish().to_json()
    # the ticks' dispatches that are recorded are the same ones; the schedule skips only
    # dispatches that would have recorded nothing, and says how many it still made
    recorded = scheduled.rescans - scheduled.unrecorded
    assert 0 < recorded == daily.rescans - daily.unrecorded
    assert 0 < scheduled.unrecorded < daily.unrecorded


def _consent(token: str, effective: datetime, expires: datetime | None) -> ConsentRecord:
    return ConsentRecord(
        consent_id="c-1",
        subject_token=token,
        purpose=Purpose.SERIOUS_VIOLENCE_PREVENTION,
        provider="voluntary",
        given_by="subject",
        method="written",
        notice="n-1",
        recorded_by="worker",
        event_id="e-1",
        given_at=effective,
        effective_from=effective,
        expires_at=expires,
    )


def test_a_subject_is_due_at_its_first_instant_after_the_tick(settings: Settings) -> None:
    """Agreements' breakpoints, consent starting and expiring, held flags' ends: the first
    one after the tick (episodes' ends are the dispatch's, tested with the whole run)."""
    setup = changed(settings)
    instants = Instants(setup.evaluator.book.breakpoints(), setup.correlator.dispatcher.rules)
    at = datetime(2026, 7, 10, tzinfo=UTC)
    starts = datetime(2026, 7, 20, tzinfo=UTC)  # STARTS: the education agreement
    assert instants.due(at, SubjectState(), []) == starts
    ledger = ConsentLedger(records=(_consent("lt1:x", at, at + timedelta(days=3)),))
    assert instants.due(at, SubjectState(consent=ledger), []) == at + timedelta(days=3)
    later = ConsentLedger(records=(_consent("lt1:x", at + timedelta(days=5), None),))
    assert instants.due(at, SubjectState(consent=later), []) == at + timedelta(days=5)
    past = ConsentLedger(records=(_consent("lt1:x", at - timedelta(days=5), at),))
    assert instants.due(at, SubjectState(consent=past), []) == starts
    beyond = datetime(2026, 12, 1, tzinfo=UTC)
    assert instants.due(beyond, SubjectState(), []) is None


def test_a_quiet_subject_wakes_at_its_first_instant_or_when_a_contribution_can_drop(
    settings: Settings,
) -> None:
    """Floors stay put, so a tick changes a quiet subject's state only through its dispatch
    (at its first instant) or by dropping its oldest contribution (once the horizon passes
    it): the wake is the earlier of the two."""
    setup = changed(settings)
    rules = setup.correlator.dispatcher.rules
    instants = Instants(setup.evaluator.book.breakpoints(), rules)
    at = datetime(2026, 7, 10, tzinfo=UTC)
    starts = datetime(2026, 7, 20, tzinfo=UTC)  # STARTS: the next breakpoint
    oldest = at - rules.horizon + timedelta(days=3)
    soon = contribution("police.arrest", 0).model_copy(update={"occurred_at": oldest})
    later = soon.model_copy(update={"event_id": "evt-later", "occurred_at": at - timedelta(1)})
    for kept, wake in [((), starts), ((soon, later), at + timedelta(days=3)), ((later,), starts)]:
        state = SubjectState(window=SubjectWindow(contributions=kept))
        assert instants.wake(at, state, []) == wake
    beyond = datetime(2026, 12, 1, tzinfo=UTC)  # no breakpoint after it
    assert instants.wake(beyond, SubjectState(), []) is None
    alone = SubjectState(window=SubjectWindow(contributions=(later,)))
    assert instants.wake(beyond, alone, []) == later.occurred_at + rules.horizon


def test_wakes_give_each_quiet_subject_once_at_its_latest_wake() -> None:
    wakes = Wakes()
    days = [datetime(2026, 7, d, tzinfo=UTC) for d in range(1, 6)]
    wakes.put("a", days[1])
    wakes.put("b", days[2])
    wakes.put("a", days[3])  # woken by an event and quiet again, later: the first is stale
    wakes.put("c", days[2])
    wakes.put("c", days[2])  # quiet again until the same instant
    assert wakes.due(days[0]) == []
    assert sorted(wakes.due(days[2])) == ["b", "c"]
    assert wakes.quiet == {"a": days[3]}
    assert wakes.due(days[2]) == []
    assert wakes.due(days[4]) == ["a"]
    assert wakes.quiet == {}
