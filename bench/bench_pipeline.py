"""The whole hub under load against the ceiling of the same broker; prints figures, asserts nothing.

Run: ``.venv/bin/python -m bench.bench_pipeline`` (``make bench`` runs it with the others).
One fresh embedded broker, then, each phase on its own topics and consumer group:

1. ``passthrough``: a plain aiokafka consume-and-produce copy of the load (the ceiling);
2. ``faust-hop`` and ``faust-topology``: faust with the worker's settings and no domain work,
   one copying hop, then the hub's hops and table writes (``bench.faust_floor``): what the
   stream framework costs before the hub does anything;
3. ``pipeline-1``: the full hub on one worker (ingest with seal checks, agreements,
   correlation, encryption, sequencing and delivery, audit ledger). Its outputs are counted
   and checked: every event accepted, none quarantined, else the phase is marked invalid;
4. ``pipeline-2``: the same with two workers in one consumer group;
5. ``latency``: one worker, the load offered at a fixed rate, agency send to partnership
   receipt measured on alerts (``bench.latency``); ``latency-2``: the first rate again on
   two workers in one consumer group;
6. ``profile`` (only with ``BENCH_PROFILE=1``): pipeline-1 again under py-spy.

Sizes come from environment variables (defaults in brackets): ``BENCH_EVENTS`` [20000]
and ``BENCH_SUBJECTS`` [5000] for the throughput phases, ``BENCH_WARMUP`` [400] events sent
before timing, ``BENCH_RATES`` [1000,200] events/s for ``BENCH_LATENCY_S`` [30] s each with
``BENCH_EVENTS_PER_SUBJECT`` [10], ``BENCH_PHASES`` (comma-separated, default all but
``profile``), ``BENCH_PROFILE`` [0], ``BENCH_PROFILE_HZ`` [100], ``BENCH_LOG_LEVEL`` [the
worker's default, INFO], ``BENCH_TIMEOUT_S`` [300]. Results go to ``bench/results/``
(``pipeline.json``, ``pipeline.md``; the profile to ``profile-raw.txt`` and
``profile-top.md``); worker and broker logs stay in ``.hub/bench/`` until the next run.
See ``docs/benchmarks.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import profile, report
from bench.latency import (
    build_probe,
    paced_batches,
    paced_send,
    percentile,
    receive_alerts,
    rests_on,
    stage_lines,
    stage_marks,
    stage_summary,
)
from bench.loadgen import Generator, Sent, SentRecord, data_for
from bench.progress import read_outputs, wait_done, wait_heartbeats
from bench.stack import (
    Phase,
    group_members,
    prepare_phase,
    producer,
    send_all,
    start_workers,
    stop_workers,
    workers_cpu_s,
)
from hub.broker import EmbeddedBroker
from hub.codec import SchemaStore
from hub.config import EMBEDDED_FETCH_MAX_WAIT_MS, Settings, load_settings, settings_env
from hub.crypto import Keyring, create_dev_keyring
from hub.gcpolicy import own_heap_frozen
from hub.runtime import load_registry_from, load_worker_keys

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
JOIN_TIMEOUT_S = 90.0
LATENCY_S = 30
"""Seconds of load each latency phase offers: about 370 alerts at 1,000 events/s, so that the
p99 is the fourth-slowest alert (ten seconds gave about 110 and the p99 was the second)."""
SLOWEST = 8
"""The slowest alerts listed with where their time went (``Receipts.slowest``)."""
PHASES = (
    "passthrough",
    "faust-hop",
    "faust-topology",
    "peer-floor",
    "pipeline-1",
    "pipeline-2",
    "latency",
    "latency-2",
    "profile",
)


def _env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _echo(line: str) -> None:
    print(line, flush=True)


class Bench:
    """The shared broker, keys and load, and the figures gathered phase by phase."""

    def __init__(self, base: Settings, workdir: Path, generator: Generator) -> None:
        events, warmup = _env("BENCH_EVENTS", 20_000), _env("BENCH_WARMUP", 400)
        started = time.perf_counter()
        subjects = _env("BENCH_SUBJECTS", 5000)
        self.load = generator.build(events, subjects)
        warm = generator.build(warmup, subjects, tag="warm-")
        self.warmup = warm.messages
        # The hub's phases are fed as agencies send: batch records (BENCH_FEED=single: one
        # event a record). The floors copy records, so they take one event a record.
        self.batched = batched = os.environ.get("BENCH_FEED", "batch") == "batch"
        self.feed: Sequence[Sent | SentRecord] = (
            self.load.records if batched else self.load.messages
        )
        self.warm_feed: Sequence[Sent | SentRecord] = warm.records if batched else warm.messages
        took = time.perf_counter() - started
        _echo(f"load: {self.load.describe()} (+{warmup} warm-up), sealed in {took:.1f} s")
        self.base = base
        self.workdir = workdir
        self.generator = generator
        self.registry = generator.registry
        self.keyring = generator.keyring
        self.timeout_s = float(_env("BENCH_TIMEOUT_S", 300))
        self.figures: dict[str, Any] = {}

    async def passthrough(self) -> None:
        """The ceiling: the same messages copied by a bare consumer-producer process."""
        phase = await prepare_phase(self.base, "passthrough", self.workdir)
        feeds = [phase.settings.feed_topic(a.id) for a in self.registry.agencies]
        args = [phase.group, phase.settings.accepted_topic]
        args += [str(len(self.warmup)), str(len(self.load.messages)), *feeds]
        # The broker and its security reach the copier through HUB_* variables, never argv.
        env = settings_env(phase.settings)
        await self._copier("passthrough", phase, ["bench.passthrough", *args], env)

    async def floor(self, shape: str) -> None:
        """faust with the worker's settings and no domain work (``bench.faust_floor``)."""
        name = f"faust-{shape}"
        phase = await prepare_phase(self.base, name, self.workdir)
        args = ["bench.faust_floor", shape, str(len(self.warmup)), str(len(self.load.messages))]
        await self._copier(name, phase, args, settings_env(phase.settings))

    async def peer_floor(self) -> None:
        """The hub's shape in plain aiokafka, no faust and no domain work (``bench.peer_floor``)."""
        phase = await prepare_phase(self.base, "peer-floor", self.workdir)
        args = [
            "bench.peer_floor",
            phase.group,
            str(len(self.warmup)),
            str(len(self.load.messages)),
        ]
        await self._copier("peer-floor", phase, args, settings_env(phase.settings))

    async def _copier(self, name: str, phase: Phase, argv: list[str], env: dict[str, str]) -> None:
        """Run a copying process, feed it the warm-up then the load, time it to its last copy."""
        phase.workdir.mkdir(parents=True, exist_ok=True)
        log = (phase.workdir / "copier.log").open("ab")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *argv,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=ROOT,
            env={**os.environ, **env},
        )
        try:
            async with producer(phase.endpoint) as out:
                await send_all(phase.settings, out, self.warmup)
                await self._line_with(proc, b"warm")
                started = time.time()
                await send_all(phase.settings, out, self.load.messages)
                line = await self._line_with(proc, b"{")
        finally:
            await _stop(proc)
            log.close()
        finished = float(report.parse_json(line[line.index(b"{") :])["finished"])
        self._throughput(name, started, finished, {})

    async def _line_with(self, proc: asyncio.subprocess.Process, marker: bytes) -> bytes:
        """The first line the process prints containing ``marker`` (faust adds terminal codes)."""
        assert proc.stdout is not None  # noqa: S101  # stdout=PIPE
        while True:
            line = await asyncio.wait_for(proc.stdout.readline(), self.timeout_s)
            if not line:
                raise RuntimeError(f"the copier exited (code {proc.returncode}) before {marker!r}")
            if marker in line:
                return line

    async def pipeline(
        self, name: str, workers: int, hook: Callable[[Phase], Any] | None = None
    ) -> None:
        """The whole hub on ``workers`` workers, the load sent as fast as it is taken."""
        phase = await self._started(name, workers)
        try:
            handle = hook(phase) if hook else None
            async with producer(phase.endpoint) as out:
                started = time.time()
                cpu_before = workers_cpu_s(phase)
                sent = await send_all(phase.settings, out, self.feed)
            await wait_done(phase.settings, sent, self.timeout_s)
            cpu_s = workers_cpu_s(phase) - cpu_before  # includes the idle wait for commits
            if handle is not None:
                profile.stop(handle)
        finally:
            stop_workers(phase)
        outputs = await read_outputs(phase.settings, self.registry, started)
        per_event_us = cpu_s / len(self.load.messages) * 1e6
        _echo(f"{name}: workers' CPU {cpu_s:.2f} s, {per_event_us:.1f} us per event")
        extra = {
            "workers": workers,
            "workers_cpu_s": round(cpu_s, 3),
            "workers_cpu_us_per_event": round(per_event_us, 1),
            "peak_rss_mib": [round(k / 1024, 1) for k in phase.peak_rss_kib.values()],
            "outputs": dict(sorted(outputs.counts.items())),
        }
        problems = report.output_problems(outputs.counts, len(self.load.messages))
        if problems:
            extra["invalid"] = problems
            _echo(f"{name}: INVALID RUN: {'; '.join(problems)} (worker log in {phase.workdir})")
        self._throughput(name, started, outputs.last_write, extra)

    async def latency(self, rate: int, seconds: int, workers: int = 1) -> None:
        """Alerts' send-to-receipt latency with the load offered at ``rate`` events/s.

        Its own load, denser in subjects (``BENCH_EVENTS_PER_SUBJECT``, default 10) so that
        enough alerts are raised to give percentiles; ``workers`` workers in one group.
        """
        count = rate * seconds
        subjects = max(10, count // _env("BENCH_EVENTS_PER_SUBJECT", 10))
        load = self.generator.build(count, subjects, tag=f"latency{rate}-")
        messages = load.messages
        probe = build_probe(messages, self.keyring, self.registry)
        suffix = "" if workers == 1 else f"x{workers}"
        phase = await self._started(f"latency-{rate}{suffix}", workers)
        stop = asyncio.Event()
        try:
            with own_heap_frozen() as own:  # the bench's own pauses are not the hub's
                reader = asyncio.create_task(
                    receive_alerts(phase.settings, self.registry, self.keyring, probe, stop)
                )
                async with producer(phase.endpoint) as out:
                    loaded = time.time()
                    if self.batched:
                        sent = await paced_batches(
                            phase.settings, out, messages, rate, probe, keyring=self.keyring
                        )
                    else:
                        sent = await paced_send(phase.settings, out, messages, rate, probe)
                await wait_done(phase.settings, sent, self.timeout_s)
                await asyncio.sleep(2.0)  # the last alerts' fetches
                stop.set()
                receipts = await reader
        finally:
            stop_workers(phase)
        verifier = load_worker_keys(phase.settings, self.keyring).verifier
        stages = stage_summary(
            receipts, await stage_marks(phase.settings, verifier), loaded, SLOWEST
        )
        lat = receipts.latencies_ms
        key = f"latency@{rate}{suffix}"
        self.figures[key] = {
            "offered_events_per_s": rate,
            "workers": workers,
            "events": len(messages),
            "subjects": load.subjects,
            "alerts_measured": len(lat),
            "alerts_unmatched": receipts.unmatched,
            "p50_ms": round(percentile(lat, 0.50), 1),
            "p95_ms": round(percentile(lat, 0.95), 1),
            "p99_ms": round(percentile(lat, 0.99), 1),
            "p99_rests_on": rests_on(len(lat), 0.99),
            "p999_ms": round(percentile(lat, 0.999), 1),
            "max_ms": round(max(lat, default=float("nan")), 1),
            "peak_rss_mib": [round(k / 1024, 1) for k in phase.peak_rss_kib.values()],
            "in_worker_p50_ms": round(percentile([t.in_worker_ms for t in receipts.timed], 0.5), 1),
            "delivery_p50_ms": round(percentile([t.delivery_ms for t in receipts.timed], 0.5), 1),
            "slowest": receipts.slowest(SLOWEST, loaded),
            "by_second": receipts.by_second(loaded),
            "bench_gc": own.summary(loaded),
            "stages": stages,
        }
        _echo(f"latency: {report.latency_line(self.figures[key])}")
        _echo(f"latency: {report.slowest_line(self.figures[key])}")
        _echo(f"latency: {report.by_second_line(self.figures[key])}")
        _echo(f"latency: the bench's own collections {self.figures[key]['bench_gc']}")
        for line in stage_lines(stages):
            _echo(f"latency: {line}")

    async def _started(self, name: str, workers: int) -> Phase:
        """A phase with its workers joined and warmed up (every warm-up event processed)."""
        phase = await prepare_phase(self.base, name, self.workdir)
        start_workers(phase, workers)
        try:
            await _joined(phase, workers)
            joined = time.time()
            async with producer(phase.endpoint) as out:
                sent = await send_all(phase.settings, out, self.warm_feed)
            await wait_done(phase.settings, sent, JOIN_TIMEOUT_S + self.timeout_s)
            await wait_heartbeats(phase.settings, self.registry, joined, JOIN_TIMEOUT_S)
        except BaseException:
            stop_workers(phase)
            raise
        return phase

    def _throughput(
        self, name: str, started: float, finished: float, extra: dict[str, Any]
    ) -> None:
        events = len(self.load.messages)
        elapsed = finished - started
        self.figures[name] = {"events": events, "seconds": round(elapsed, 3)} | extra
        self.figures[name]["events_per_s"] = round(events / elapsed)
        _echo(f"{name}: {events} events in {elapsed:.2f} s = {events / elapsed:,.0f} events/s")


async def _stop(proc: asyncio.subprocess.Process, timeout_s: float = 15.0) -> None:
    """Stop a child by its PID: SIGTERM, then SIGKILL if it does not exit in time."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


async def _joined(phase: Phase, workers: int) -> None:
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    while time.monotonic() < deadline:
        if await group_members(phase.endpoint, phase.group) >= workers:
            return
        await asyncio.sleep(0.5)
    _echo(f"note: could not see {workers} members in {phase.group}; continuing")


async def _run(bench: Bench, phases: set[str]) -> None:
    if "passthrough" in phases:
        await bench.passthrough()
    for shape in ("hop", "topology"):
        if f"faust-{shape}" in phases:
            await bench.floor(shape)
    if "peer-floor" in phases:
        await bench.peer_floor()
    if "pipeline-1" in phases:
        await bench.pipeline("pipeline-1", 1)
    if "pipeline-2" in phases:
        await bench.pipeline("pipeline-2", 2)
    if "latency" in phases:
        for rate in (int(r) for r in os.environ.get("BENCH_RATES", "1000,200").split(",")):
            await bench.latency(rate, _env("BENCH_LATENCY_S", LATENCY_S))
    if "latency-2" in phases:  # the first rate, on two workers
        rate = int(os.environ.get("BENCH_RATES", "1000,200").split(",")[0])
        await bench.latency(rate, _env("BENCH_LATENCY_S", LATENCY_S), workers=2)
    if "profile" in phases:
        await bench.pipeline("profile", 1, hook=lambda phase: profile.start(phase, RESULTS))


def _phases() -> set[str]:
    """``BENCH_PHASES`` (comma-separated) or every phase; ``BENCH_PROFILE=1`` adds the profile."""
    chosen = os.environ.get("BENCH_PHASES")
    phases = set(chosen.split(",")) if chosen else set(PHASES) - {"profile"}
    if _env("BENCH_PROFILE", 0):
        phases.add("profile")
    unknown = phases - set(PHASES)
    if unknown:
        raise SystemExit(
            f"unknown BENCH_PHASES: {', '.join(sorted(unknown))}; known: {', '.join(PHASES)}"
        )
    return phases


def main() -> None:
    """Build the load, run every phase on one fresh broker, write the results."""
    workdir = ROOT / ".hub" / "bench"  # worker logs stay here for inspection until the next run
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with EmbeddedBroker(log_path=workdir / "broker.log") as broker:
        base = load_settings(deploy_dir=ROOT / "deploy", schemas_dir=ROOT / "schemas")
        registry = load_registry_from(base)
        data_dir, source = data_for(base.data_dir, workdir, registry, _echo)
        base = base.model_copy(
            update={
                "broker_url": broker.url,
                "kafka_security_protocol": "PLAINTEXT",  # its own loopback broker
                "fetch_max_wait_ms": EMBEDDED_FETCH_MAX_WAIT_MS,  # the embedded broker's
                "keys_dir": workdir / "keys",
                "data_dir": data_dir.resolve(),
                "log_format": "json",
                "log_level": os.environ.get("BENCH_LOG_LEVEL", base.log_level),
            }
        )
        create_dev_keyring(base.keys_dir, registry, datetime.now(UTC))
        store = SchemaStore.load(base.schemas_dir)
        keyring = Keyring.open(base.keys_dir)
        bench = Bench(
            base, workdir, Generator(data_dir, source, store, registry, keyring, base.partitions)
        )
        asyncio.run(_run(bench, _phases()))
    figures = report.finish(
        bench.figures, bench.load, broker_note=f"embedded broker on {broker.address}"
    )
    report.replay_figure(figures, _echo)
    report.write(RESULTS, figures, _echo)


if __name__ == "__main__":
    main()
