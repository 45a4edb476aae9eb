"""A historical replay through ``hub feed`` is never silent (issue 17).

A police month four months back (every rule's window is at most 90 days) is sent with its
partner events: the command's summary counts the events already outside every rule's window,
and its warning on stderr says how many of how many, pointing at ``hub backtest``. Last month's
events are within the windows: nothing is counted and no warning is given.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import feed
from hub.config import Settings, settings_env
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from tests.recent import MONTHS_BACK, police_head

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def send_police(settings: Settings, path: Path) -> tuple[dict[str, Any], str]:
    """``hub feed police --file PATH --partners``: its summary and its stderr."""
    args = ["police", "--file", str(path), "--partners"]
    result = CliRunner().invoke(feed.app, args, env=settings_env(settings))
    assert result.exit_code == 0, result.output
    lines = [x for x in result.stdout.splitlines() if x.startswith("{")]
    return json.loads(lines[-1]), result.stderr


def test_a_past_month_sent_says_how_many_of_its_events_no_rule_window_holds(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    registry = load_registry(s.deploy_dir / "registry.yaml")
    asyncio.run(create_topics(kafka_endpoint(s), plan_topics(s, registry)))

    old, said = send_police(s, police_head(tmp_path / "old.csv", 200, MONTHS_BACK))
    agencies = old["agencies"]
    sent = sum(a["sent"] for a in agencies.values())
    outside = sum(a["outside_every_window"] for a in agencies.values())
    assert agencies["police"]["outside_every_window"] == agencies["police"]["sent"] > 0
    assert 0 < outside <= sent
    assert f"warning: {outside} of the {sent} events sent occurred more than 90 days ago" in said
    assert "outside every rule's window" in said
    assert "hub backtest" in said

    recent, quiet = send_police(s, police_head(tmp_path / "recent.csv", 200, 1))
    assert sum(a["sent"] for a in recent["agencies"].values()) > 0
    assert all(a["outside_every_window"] == 0 for a in recent["agencies"].values())
    assert "warning:" not in quiet
