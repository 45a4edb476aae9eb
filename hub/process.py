"""Child processes the hub's tools start (the worker), stopped by the PID they started."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from hub.config import Settings, settings_env


def start_worker(
    settings: Settings, log_path: Path, module: str = "hub.cli", cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``hub worker`` in its own session, with ``settings`` passed by environment.

    Its command line is fixed (no setting, path or credential on it, so none shows in a process
    list): a password reaches it as a file path or in the environment (``settings_env``).
    ``module`` is the Python module run with ``worker`` (the benchmark's launcher of a
    proposed change, ``bench.experiment``, runs from ``cwd``, the repository).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **settings_env(settings)}
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603  # this interpreter, a module of ours, "worker"
            [sys.executable, "-m", module, "worker"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=cwd,
        )


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> int:
    """SIGTERM the process we started, SIGKILL it if it lingers; return its exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout_s)
    return proc.returncode
