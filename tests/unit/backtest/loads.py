"""Set-up functions a backtest's spawned processes import by name: the schedule's agreements,
and two that fail.

A spawned process imports the module of its set-up function: this one imports the hub's
backtest alone (a test module would bring the command line, pytest and the test helpers into
every process, about a second of CPU each).
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, date, datetime

from hub.backtest import BacktestSetup, Period, Policy
from hub.config import Settings
from hub.dsa import AgreementBook, Evaluator
from hub.errors import ConfigError

TODAY = datetime(2026, 11, 1, tzinfo=UTC)  # every shipped agreement in force
PERIOD = Period(date(2026, 7, 1), date(2026, 9, 30))
ENDS = ("tv-police-svd", date(2026, 8, 20))
STARTS = ("tv-education-under18", date(2026, 7, 20))


def changed(settings: Settings, period: Period = PERIOD) -> BacktestSetup:
    """Today's agreements as if in force from the period's start, two changed inside it: the
    police agreement ends (ENDS) and the education agreement starts (STARTS)."""
    setup = BacktestSetup.load(settings, Policy.CURRENT, period, TODAY)
    agreements = []
    for entry in setup.evaluator.book.entries:
        agreement = entry.agreement
        if agreement.id == ENDS[0]:
            agreement = agreement.model_copy(update={"effective_to": ENDS[1]})
        if agreement.id == STARTS[0]:
            agreement = agreement.model_copy(update={"effective_from": STARTS[1]})
        agreements.append(agreement)
    book = AgreementBook.from_agreements(agreements)
    registry = setup.ingest.registry
    return replace(setup, evaluator=Evaluator(book, registry), sequence=book.last_sequence)


def failing(settings: Settings) -> BacktestSetup:
    """A set-up that raises the hub's error."""
    raise ConfigError("no deployment here")


def dying(settings: Settings) -> BacktestSetup:
    """A process that exits at once, saying nothing."""
    os._exit(3)
