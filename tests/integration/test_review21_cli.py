"""review21: a command run in process that hangs must still fail its test at the test's timeout.

The subprocesses ``tests.integration.cli.hub`` replaced were killed at ``timeout=60``/``120``;
pytest-timeout (signal method) interrupts the test's main thread, but ``hub`` then leaves its
``with ThreadPoolExecutor`` block, whose exit joins the command's thread: the test, and its xdist
worker, hang until the command returns, which a hung command never does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

INNER = """
import threading
import pytest
from tests.integration import cli

@pytest.mark.timeout(2)
def test_a_hung_command(monkeypatch):
    never = threading.Event()
    monkeypatch.setattr(cli, "_run", lambda *args: never.wait())
    cli.hub(None)
"""


def test_a_hung_in_process_command_fails_at_the_timeout(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist"]
    command += ["--rootdir", str(tmp_path), "-q", str(tmp_path / "test_inner.py")]
    try:
        done = subprocess.run(  # fixed argument list: this interpreter, pytest
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            "the timed-out test never finished: hub() joins the hung thread"
        ) from exc
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Timeout" in done.stdout, done.stdout
