"""`hub feed`'s warning names the longest rule window exactly (it once said 89 for 90 days)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hub.cli.feed import rule_horizon, warn_outside_windows
from hub.config import Settings

ROOT = Path(__file__).resolve().parents[3]


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        deploy_dir=ROOT / "deploy", schemas_dir=ROOT / "schemas", keys_dir=tmp_path / "keys"
    )


def test_the_horizon_is_the_longest_shipped_rule_window(tmp_path: Path) -> None:
    windows = [
        int(line.split(":", 1)[1])
        for path in sorted((ROOT / "deploy" / "rules").glob("*.yaml"))
        for line in path.read_text().splitlines()
        if line.startswith("window_days:")
    ]
    assert rule_horizon(_settings(tmp_path)) == timedelta(days=max(windows))


def test_the_warning_says_the_whole_horizon_in_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path)
    warn_outside_windows(7, 10, settings)
    said = capsys.readouterr().err
    days = rule_horizon(settings).days
    assert f"warning: 7 of the 10 events sent occurred more than {days} days ago" in said
    assert days == 90


def test_no_warning_when_nothing_is_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warn_outside_windows(0, 10, _settings(tmp_path))
    assert capsys.readouterr().err == ""
