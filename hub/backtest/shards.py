"""A backtest across processes: each runs the subjects of its share, one report merged.

Correlation keeps state per subject only (its window, flags, consent ledger, wake-up), so a
run splits by what correlation keys on: the subject's linkage token (an area event by
``area:<LSOA>``). This process plans the run (:class:`~hub.backtest.plan.Planner`: it reads
each message's envelope alone, :mod:`hub.backtest.envelope`, orders the chunk, counts what
lies outside the period and numbers every message and tick for the whole run), and sends
each process every tick and only the messages of its keys, with their numbers (each
process's from a thread of its own, :mod:`hub.backtest.sender`). Each process runs the
ordinary :class:`~hub.backtest.run.Backtest` over its steps: ingest (the seal, validation,
de-duplication) and correlation, for its subjects only, at the same ticks, clock and
positions as one process would. Their exact tallies are added (:meth:`Tally.add`) and the
report made once from the sum, so small numbers are suppressed after the merge, never per
process.

The one thing ingest shares between subjects is de-duplication by event id. An event id met
again in another process than before (an agency that sealed one id for two subjects) is
settled exactly: the processes that had it are asked whether they accepted it, and the one
now taking it is told where (an ``(event id, position)`` row) before it runs it.

A process that fails stops the run with :class:`BacktestProcessError` (its error's type and
message, or its exit code); no report is written from part of a run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
import traceback
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

from hub.backtest.envelope import EnvelopeRead, Envelopes
from hub.backtest.period import Period
from hub.backtest.plan import Planner, Row, Sealed, Sent, Tick, Wired
from hub.backtest.run import Backtest, BacktestSetup, Policy, describe
from hub.backtest.sender import Sender
from hub.backtest.tally import Report, Tally
from hub.codec import SchemaStore
from hub.errors import HubError
from hub.gcpolicy import CollectorMeter, settle

Load = Callable[[], BacktestSetup]
"""Makes a process's setup (picklable: a module-level function or a partial of one)."""


class BacktestProcessError(HubError):
    """A backtest's process failed or died: the run stops, and no report is written."""

    reason = "backtest_process"


@dataclass(frozen=True, slots=True)
class Share:
    """What one process returns when the run ends."""

    tally: Tally
    policy: str
    rescans: int
    unrecorded: int
    """Of ``rescans``, those that sent nothing and changed nothing (:attr:`Backtest.unrecorded`)."""
    kept: int
    """Events after which their subject stayed quiet (:attr:`Backtest.kept`)."""
    cpu: float
    """CPU seconds the process used (set-up included)."""
    setup_cpu: float
    """CPU seconds its set-up took (imports, the deployment loaded, the collector settled)."""
    wall: float
    """Seconds from the end of its set-up to its share sent."""
    waited: float
    """Of ``wall``, the seconds it waited for steps (idle)."""
    collector: CollectorMeter
    """The collections it made after its set-up, and their CPU seconds."""


class _Pending:
    """A process's steps not yet sent, as they are sent (:data:`~hub.backtest.plan.Sent`):
    each record sent once, with the first of its messages the process takes."""

    __slots__ = ("_local", "records", "rows")

    def __init__(self) -> None:
        self.records: list[Wired] = []
        self.rows: list[tuple[Any, ...]] = []
        self._local: dict[int, int] = {}

    def take(
        self, offset: int, now: datetime, value: bytes, record: int, records: list[Wired]
    ) -> None:
        """A message taken from the chunk's ``record``-th record."""
        local = self._local.get(record)
        if local is None:
            local = self._local[record] = len(self.records)
            self.records.append(records[record])
        self.rows.append((offset, now, value, local))

    def sent(self) -> Sent:
        """What is sent."""
        return self.records, self.rows


@dataclass
class _Process:
    process: BaseProcess
    conn: Connection
    sender: Sender
    pending: _Pending = field(default_factory=_Pending)


class ShardedBacktest:
    """:class:`Backtest` across ``processes`` processes: feed chunks, then :meth:`finish`.

    Use as a context manager: leaving it stops every process still running.
    """

    def __init__(
        self, load: Load, schemas: SchemaStore, period: Period, processes: int, *, daily: bool
    ) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self._period = period
        self._planner = Planner(period, EnvelopeRead.alone(Envelopes(schemas)))
        self._ids: dict[int, int] = {}
        """Hash of each event id taken -> bit mask of the processes it went to."""
        self._records: list[Wired] = []
        """The records of the chunk being routed, as sent."""
        context = multiprocessing.get_context("spawn")
        self._processes: list[_Process] = []
        for n in range(processes):
            parent, child = context.Pipe()
            process = context.Process(
                target=_serve, args=(child, load, period, daily), name=f"backtest-{n}", daemon=True
            )
            process.start()
            child.close()
            sender = Sender(parent, f"backtest-{n}-sender")
            self._processes.append(_Process(process, parent, sender))
        self.shares: list[Share] = []
        self.tally = Tally()
        """The exact counts of the whole run (after :meth:`finish`)."""

    @property
    def read(self) -> int:
        """Messages fed so far."""
        return self._planner.read

    def feed(self, messages: Iterable[Sealed]) -> None:
        """Plan a chunk and send each process its steps (it runs them while the next is planned)."""
        records, rows = self._planner.plan(messages)
        self._records = [(agency, m.key, headers, batch) for agency, m, headers, batch in records]
        for row in rows:
            if isinstance(row, Tick):
                tick = (row.offset, row.at)
                for held in self._processes:
                    held.pending.rows.append(tick)
            else:
                self._route(row)
        for n in range(len(self._processes)):
            self._flush(n)

    def finish(self, meta: Mapping[str, Any] | None = None) -> Report:
        """The report of the whole run: every process's exact counts added, then suppressed."""
        for n in range(len(self._processes)):
            self._send(n, ("finish", None))
        self.shares = [self._receive(n) for n in range(len(self._processes))]
        for held in self._processes:
            held.sender.stop()
            held.process.join()
        tally = Tally()
        for share in self.shares:
            tally.add(share.tally)
        tally.outside += self._planner.outside
        self.tally = tally
        policy = self.shares[0].policy
        return tally.report(describe(self._period, Policy(policy), self.read, meta))

    @property
    def rescans(self) -> int:
        """Dispatches the processes' ticks made (after :meth:`finish`)."""
        return sum(s.rescans for s in self.shares)

    @property
    def unrecorded(self) -> int:
        """Of :attr:`rescans`, those that sent nothing and changed nothing."""
        return sum(s.unrecorded for s in self.shares)

    @property
    def kept(self) -> int:
        """Events after which their subject stayed quiet: ticks' dispatches not made."""
        return sum(s.kept for s in self.shares)

    def close(self) -> None:
        """Stop every process still running."""
        for held in self._processes:
            if held.process.is_alive():
                held.process.terminate()
            held.process.join()
            held.sender.stop()  # its send to a stopped process fails, if it was sending
            held.conn.close()

    def __enter__(self) -> ShardedBacktest:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _route(self, row: Row) -> None:
        offset, now, value, record, key, event_id = row
        n = share_of(key, len(self._processes))
        if event_id is not None:
            digest = hash(event_id)
            had = self._ids.get(digest, 0)
            others = had & ~(1 << n)
            if others:
                self._settle(event_id, others, n)
            self._ids[digest] = had | (1 << n)
        self._processes[n].pending.take(offset, now, value, record, self._records)

    def _settle(self, event_id: str, others: int, n: int) -> None:
        """Tell process ``n`` where another process accepted ``event_id``, if one did."""
        for other in range(len(self._processes)):
            if not others >> other & 1:
                continue
            self._flush(other)
            self._send(other, ("ask", event_id))
            position = self._receive(other)
            if position is not None:
                self._processes[n].pending.rows.append((event_id, position))
                return

    def _flush(self, n: int) -> None:
        held = self._processes[n]
        if held.pending.rows:
            self._send(n, ("steps", held.pending.sent()))
            held.pending = _Pending()

    def _send(self, n: int, message: tuple[str, Any]) -> None:
        """Queue a message for process ``n`` (:class:`~hub.backtest.sender.Sender`)."""
        held = self._processes[n]
        if not held.sender.put(message, held.process.is_alive):
            raise self._failed(n) from held.sender.error

    def _receive(self, n: int) -> Any:  # what the process was asked for
        held = self._processes[n]
        ready = wait([held.conn, held.process.sentinel], timeout=_POLL)
        while not ready and held.sender.error is None:  # a failed send is never answered
            ready = wait([held.conn, held.process.sentinel], timeout=_POLL)
        if held.conn not in ready and not held.conn.poll():
            raise self._failed(n)
        try:
            kind, body = held.conn.recv()
        except (EOFError, OSError):
            raise self._failed(n) from None
        if kind == "error":
            raise BacktestProcessError(f"backtest process {n} failed: {body}")
        return body

    def _failed(self, n: int) -> BacktestProcessError:
        held = self._processes[n]
        held.process.join(timeout=5)
        if held.conn.poll():  # it said why before it stopped
            try:
                kind, body = held.conn.recv()
            except (EOFError, OSError):
                kind, body = "", None
            if kind == "error":
                return BacktestProcessError(f"backtest process {n} failed: {body}")
        code = held.process.exitcode
        if code is None and held.sender.error is not None:  # running, but not sent to
            kind = type(held.sender.error).__name__
            return BacktestProcessError(f"backtest process {n}: sending to it failed ({kind})")
        return BacktestProcessError(f"backtest process {n} stopped (exit code {code})")


_POLL = 1.0
"""Seconds between checks, while waiting for an answer, that sending to the process works."""


def share_of(key: str | None, processes: int) -> int:
    """The process a message of ``key`` goes to (an unreadable message: the first)."""
    return 0 if key is None else zlib.crc32(key.encode()) % processes


def _serve(conn: Connection, load: Load, period: Period, daily: bool) -> None:
    """A process's loop: run the steps it is sent, answer, and send its share at the end."""
    try:
        setup = load()
        runner = Backtest(setup, period, daily=daily)
        settle(setup.ingest.settings.gc_young_threshold)  # as a worker: set-up frozen
        ready, began, waited = time.process_time(), time.perf_counter(), 0.0
        meter = CollectorMeter.start()
        while True:
            asked = time.perf_counter()
            kind, body = conn.recv()
            waited += time.perf_counter() - asked
            if kind == "steps":
                runner.run_sent(body)
            elif kind == "ask":
                conn.send(("seen", runner.accepted_at(body)))
            else:
                times = (time.process_time(), ready, time.perf_counter() - began, waited)
                policy, collector = setup.policy.value, meter.stop()
                rescans = (runner.rescans, runner.unrecorded, runner.kept)
                share = Share(runner.tally, policy, *rescans, *times, collector)
                conn.send(("share", share))
                return
    except BaseException as exc:  # noqa: BLE001  # every failure is the parent's to report
        with contextlib.suppress(OSError):  # the parent is gone: nobody to tell
            conn.send(("error", _described(exc)))
    finally:
        conn.close()


def _described(exc: BaseException) -> str:
    """An error's type, and its message when it is the hub's (which never holds a payload),
    else where it was raised."""
    if isinstance(exc, HubError):
        return f"{type(exc).__name__}: {exc}"
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {frame[0].filename}:{frame[0].lineno}" if frame else ""
    return f"{type(exc).__name__}{where}"
