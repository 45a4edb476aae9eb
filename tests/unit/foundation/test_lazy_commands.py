"""``import hub.cli`` loads the commands a worker start needs and no other: every other
command's module, and what only those commands use (the backtest, the board, its HTML and
charts), is imported when the command runs (``hub.cli.lazy``). A worker, a restart and each
CLI process pay for what they use (docs/testing.md, "Where the time goes")."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.settings import ROOT

_CODE = "import json, sys, hub.cli; print(json.dumps(sorted(sys.modules)))"

_LATER = ("plotly", "jinja2", "hub.backtest", "hub.board", "hub.acls")
"""Packages only some commands use, so only those commands import."""


def test_importing_the_cli_loads_no_command_it_does_not_start_with() -> None:
    result = subprocess.run(  # this interpreter, fixed code
        [sys.executable, "-c", _CODE], capture_output=True, text=True, cwd=ROOT, check=True
    )
    loaded = json.loads(result.stdout)
    assert "hub.cli.lazy" in loaded
    commands = [m for m in loaded if m.startswith("hub.cli.") and m != "hub.cli.lazy"]
    later = [m for m in loaded if m.startswith(_LATER)]
    assert commands == []
    assert later == []
