"""Idle subjects' states kept as bytes: a subject that comes back counts what it would have.

The backtest keeps the state of a subject idle for a whole chunk, neither flagged nor
waiting for a tick, as bytes (``Backtest._cool``) and reads it back when the subject has an
event again. Three months where the first month's people come back in the third (their
events again, two months later, under new event ids) are run with and without that, and
every exact count must be the same, with states read back.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.backtest import Backtest, BacktestSetup, Period, Policy
from hub.backtest.plan import Sealed
from hub.backtest.sources import Sealer, first_police_csv
from hub.config import Settings
from hub.crypto import Keyring
from hub.dispatch import SubjectState
from hub.feeds.agencies import partner_events
from hub.feeds.police import police_events
from tests.unit.backtest.test_backtest import T0, sample_settings

PERIOD = Period.parse("2026-07-01", "2026-09-30")


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return sample_settings(tmp_path_factory.mktemp("cold"), rows=500)


@pytest.fixture(scope="module")
def chunks(settings: Settings) -> list[list[Sealed]]:
    sealer = Sealer(settings, Keyring.open(settings.keys_dir))
    police_csv = first_police_csv(settings.data_dir)
    out, first = [], []
    for n, month in enumerate(PERIOD.months()):
        start = datetime.combine(month, datetime.min.time(), UTC)
        police = list(police_events(police_csv, sealer.areas, sealer.store, rebase_to=start))
        events = [*police, *partner_events(police, sealer.registry, sealer.store, seed=2018 + n)]
        if n == 0:
            first = [e for e in events if e.person is not None]
        if n == 2:  # the first month's people again, sixty days on
            back = timedelta(days=60)
            events += [
                replace(e, occurred_at=e.occurred_at + back, source_ref=f"{e.source_ref}|back")
                for e in first
            ]
        out.append(sealer.seal(events))
    return out


def _run(settings: Settings, chunks: list[list[Sealed]]) -> Backtest:
    runner = Backtest(BacktestSetup.load(settings, Policy.CURRENT, PERIOD, T0), PERIOD)
    for chunk in chunks:
        runner.feed(chunk)
    return runner


def test_subjects_kept_as_bytes_count_what_they_would_have(
    settings: Settings, chunks: list[list[Sealed]], monkeypatch: pytest.MonkeyPatch
) -> None:
    thawed: list[SubjectState] = []
    thaw = Backtest._thawed

    def noted(self: Backtest, token: str) -> SubjectState:
        cold = token in self._cold
        state = thaw(self, token)
        if cold:
            thawed.append(state)
        return state

    with monkeypatch.context() as patch:
        patch.setattr(Backtest, "_thawed", noted)
        cooled = _run(settings, chunks)
    with monkeypatch.context() as patch:
        patch.setattr(Backtest, "_cool", lambda self: None)
        warm = _run(settings, chunks)
    assert len(thawed) > 10  # people came back after their states were kept as bytes
    assert any(s.window.contributions for s in thawed)
    assert cooled.tally == warm.tally
    assert sum(cooled.tally.linked.values()) > 0
    assert cooled.rescans == warm.rescans
