"""A backtest's command sends each process its steps from a thread of its own
(:mod:`hub.backtest.sender`): in order, queued ahead while the process is busy, and a send
that fails is said, not lost."""

from __future__ import annotations

import multiprocessing
import time

from hub.backtest.sender import Sender


def test_messages_are_queued_ahead_of_a_busy_process_and_sent_in_order() -> None:
    parent, child = multiprocessing.Pipe()
    sender = Sender(parent, "test-sender", ahead=2)
    big = b"x" * 4_000_000  # more than a pipe holds: its send waits until the process reads
    for n in range(3):  # one being sent, two queued: none waits for the process
        assert sender.put(("steps", (n, big)), lambda: True)
    received = [child.recv() for _ in range(3)]
    assert [(kind, n, len(body)) for kind, (n, body) in received] == [
        ("steps", n, len(big)) for n in range(3)
    ]
    sender.stop()
    assert sender.error is None
    parent.close()
    child.close()


def test_a_send_that_fails_is_said_and_nothing_more_is_queued() -> None:
    parent, child = multiprocessing.Pipe()
    child.close()  # the process is gone
    sender = Sender(parent, "test-sender", ahead=1)
    assert sender.put(("steps", 0), lambda: True)  # queued: the thread's send then fails
    deadline = time.monotonic() + 30
    while sender.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert isinstance(sender.error, OSError)
    assert not sender.put(("steps", 1), lambda: True)  # nothing more, even if alive
    sender.stop()
    parent.close()


def test_stopping_after_a_failed_send_with_the_queue_full_returns_at_once() -> None:
    """The process is gone with messages queued: the failed send empties the queue, so a put
    waiting for room returns and stop does not wait on a timeout (which libfaketime, under
    ``make test-dates``, never lets expire)."""
    parent, child = multiprocessing.Pipe()
    child.close()
    sender = Sender(parent, "test-sender", ahead=1)
    puts = [sender.put(("steps", n), lambda: True) for n in range(4)]
    deadline = time.monotonic() + 30
    while sender.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert isinstance(sender.error, OSError)
    assert puts[0]
    assert not sender.put(("steps", 9), lambda: True)
    sender.stop()  # returns: the thread has ended (a timed wait here would not, under faketime)
    assert not sender._thread.is_alive()
    parent.close()
