"""``hub`` commands run in the test process, for tests not about the process boundary.

A ``python -m hub.cli`` child costs an interpreter and the hub's imports (about a second of
CPU) before the command starts; typer's ``CliRunner`` runs the same command, with the same
arguments and the same settings in the environment, in this process. Tests about the process
itself (the worker, a verifier holding only public keys) start a real one.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass

from typer.testing import CliRunner

from hub.cli import app
from hub.config import Settings, settings_env
from hub.transport.lenient import tolerate_unreadable_batches


@dataclass(frozen=True)
class Ran:
    """What a ``hub`` command did: exit code, standard output and standard error (with the
    traceback of an exception the command did not handle, as a child process prints it)."""

    returncode: int
    stdout: str
    stderr: str


def hub(settings: Settings, *args: str, stdin: str = "") -> Ran:
    """Run ``hub ARGS`` with ``settings`` in the environment, as ``hub.cli.main`` runs it.

    In a thread of its own, so that a coroutine may call it too: the command runs its own
    event loop (``asyncio.run``), which cannot start inside the test's. A daemon thread,
    waited for by a join the test's timeout interrupts: a hung command fails its test at the
    timeout, as a child process would have been killed, and never holds the process at exit
    (an executor's thread would be joined, and the test and its xdist worker would hang).
    """
    outcome: list[Ran | BaseException] = []

    def command() -> None:
        try:
            outcome.append(_run(settings, list(args), stdin))
        except BaseException as exc:  # noqa: BLE001  # handed to the caller's thread below
            outcome.append(exc)

    thread = threading.Thread(target=command, name="hub-command", daemon=True)
    thread.start()
    thread.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _run(settings: Settings, args: list[str], stdin: str) -> Ran:
    tolerate_unreadable_batches()  # as hub.cli.main does before any command
    result = CliRunner().invoke(app, args, input=stdin, env=settings_env(settings))
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return Ran(result.exit_code, result.stdout, stderr)
