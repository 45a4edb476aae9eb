"""What a backtest's command sends one of its processes, sent from a thread of its own.

A run across processes (:mod:`hub.backtest.shards`) plans each chunk and sends every process
its steps. Sent from the command's thread, each send waited for its process to take it
(a chunk's steps are far more than a pipe holds), so the command sent a month to one
process, waited for it to finish the month before, and only then sent the other its own: a
process that finished first waited, and the next chunk was planned only when both had taken
theirs. A :class:`Sender` per process sends in order from its own thread, up to ``ahead``
messages waiting, so the command plans on while each process takes its steps when it is
ready.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

Message = tuple[str, Any]


class Sender:
    """Sends messages to one process over ``conn``, in order, from a thread of its own."""

    def __init__(self, conn: Connection, name: str, *, ahead: int = 2) -> None:
        self._conn = conn
        self._queue: queue.Queue[Message | None] = queue.Queue(maxsize=ahead)
        self.error: BaseException | None = None
        """Why a send failed (then nothing more is sent)."""
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, message: Message, alive: Callable[[], bool]) -> bool:
        """Queue ``message`` (waiting while ``ahead`` are queued); False when it cannot be
        sent: a send failed, or the process is gone (``alive``) while the queue is full."""
        while self.error is None:
            try:
                self._queue.put(message, timeout=_POLL)
            except queue.Full:
                if not alive():
                    return False
            else:
                return True
        return False

    def stop(self) -> None:
        """Send nothing more once what is queued is sent (or sending failed), and wait for
        the thread a while (a daemon: a send that never ends does not keep the command).

        Nothing here waits on a timeout when the thread has ended or is idle: a timed wait
        on a lock is not to be relied on (under libfaketime, which ``make test-dates`` uses,
        it never times out)."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(queue.Full):  # full: it is sending to a gone or stuck process
            self._queue.put_nowait(None)
        self._thread.join(timeout=_POLL)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            if message is None:
                return
            try:
                self._conn.send(message)
            except BaseException as exc:  # noqa: BLE001  # the command's thread reports it
                self.error = exc
                self._drop_queued()
                return

    def _drop_queued(self) -> None:
        """Empty the queue after a failed send, so that a :meth:`put` waiting for room
        returns and its caller sees :attr:`error` (not a timeout it may never get)."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()


_POLL = 0.5
"""Seconds between checks that the process still runs, while waiting for room to queue."""
