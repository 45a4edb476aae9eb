"""Set-up functions a backtest's spawned processes import by name: two that fail."""

from __future__ import annotations

import os

from hub.backtest import BacktestSetup
from hub.config import Settings
from hub.errors import ConfigError


def failing(settings: Settings) -> BacktestSetup:
    """A set-up that raises the hub's error."""
    raise ConfigError("no deployment here")


def dying(settings: Settings) -> BacktestSetup:
    """A process that exits at once, saying nothing."""
    os._exit(3)
