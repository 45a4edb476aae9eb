"""Sample a worker with py-spy while it takes the load, and summarise where its time goes.

``start`` attaches ``py-spy record`` (raw collapsed stacks, 100 Hz, non-blocking) to the
phase's first worker; ``stop`` interrupts it so that it writes its file; ``summarise`` turns
the stacks into the tables of ``bench/results/profile-top.md``: share of samples by package
(inclusive) and the functions with the most samples of their own.
The raw stacks stay in ``.hub/bench/profile/profile-raw.txt`` (open them in speedscope, or
``python -m bench.profile RAW`` to print the summary again).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.stack import Phase

RATE_HZ = int(os.environ.get("BENCH_PROFILE_HZ", "100"))
"""Samples a second (``BENCH_PROFILE_HZ``); 100 unless a longer, finer profile is wanted."""
TOP = 25
#: first part of a frame's path -> package name shown in the summary.
PACKAGES = {
    "agents": "agents (faust adapters)",
    "hub": "hub (domain library)",
    "faust": "faust",
    "mode": "mode (faust runtime)",
    "aiokafka": "aiokafka",
    "structlog": "structlog (logging)",
    "fastavro": "fastavro",
    "cryptography": "cryptography",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "prometheus_client": "prometheus_client",
    "asyncio": "asyncio",
    "json": "json",
    "yaml": "yaml",
}
#: the frame under which the event loop runs one callback; what is above it is start-up.
LOOP_CALLBACK = "Handle._run (asyncio/events.py"


@dataclass
class Handle:
    """A running py-spy and the file it will write."""

    proc: subprocess.Popen[bytes]
    raw: Path
    results: Path


def start(phase: Phase, results: Path) -> Handle | None:
    """Attach py-spy to the phase's first worker; None (with a note) if py-spy is missing."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("profile: py-spy not installed (pip install py-spy); skipped", flush=True)
        return None
    results.mkdir(parents=True, exist_ok=True)
    raw = phase.workdir / "profile-raw.txt"  # a few MB: kept with the logs, not in results
    pid = str(phase.workers[0].pid)
    args = [spy, "record", "--pid", pid, "--rate", str(RATE_HZ), "--format", "raw"]
    args += ["--nonblocking", "-o", str(raw)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Handle(proc, raw, results)


def stop(handle: Handle | None) -> None:
    """Stop py-spy (it writes its file on SIGINT) and write the summary."""
    if handle is None:
        return
    os.kill(handle.proc.pid, signal.SIGINT)
    handle.proc.wait(timeout=60)
    if handle.raw.exists():
        text = summarise(handle.raw)
        (handle.results / "profile-top.md").write_text(text, encoding="utf-8")
        print(text, flush=True)


def _path(frame: str) -> str:
    return frame.partition(" (")[2].rsplit(":", 1)[0]


def _package(frame: str) -> str:
    return PACKAGES.get(_path(frame).split("/", 1)[0], "other (stdlib, C extensions)")


def _task(frames: list[str]) -> str:
    """What the event loop was running: the agent, or else the first frame of the callback."""
    agent = next((f for f in frames if _path(f).startswith("agents/")), None)
    if agent is not None:
        return _short(agent)
    below = next((i for i, f in enumerate(frames) if f.startswith(LOOP_CALLBACK)), None)
    if below is None or below + 1 >= len(frames):
        return "event loop itself (select, scheduling)"
    return _short(frames[below + 1])


def _short(frame: str) -> str:
    """``function (path:line)`` with the path cut to its last two parts."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(Path(path).parts[-2:])})"


def summarise(raw: Path) -> str:
    """Markdown tables of the samples in a py-spy raw file."""
    total = 0
    tasks: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    own_package: Counter[str] = Counter()
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        tasks[_task(frames)] += count
        loop = next((i for i, f in enumerate(frames) if f.startswith(LOOP_CALLBACK)), 0)
        for package in {_package(f) for f in frames[loop:]}:
            inclusive[package] += count
        own[_short(frames[-1])] += count
        own_package[_package(frames[-1])] += count
    if not total:
        return "no samples\n"
    lines = [f"{total} samples at {RATE_HZ} Hz (CPU only: idle waits are not sampled)\n"]
    lines += ["| running under (agent or loop callback) | share |", "|---|---|"]
    lines += [f"| `{name}` | {n / total:.1%} |" for name, n in tasks.most_common(TOP)]
    lines += ["", "| package | inclusive | self |", "|---|---|---|"]
    for package, n in inclusive.most_common():
        lines.append(f"| {package} | {n / total:.1%} | {own_package[package] / total:.1%} |")
    lines += ["", "| function (self time) | share |", "|---|---|"]
    lines += [f"| `{name}` | {n / total:.1%} |" for name, n in own.most_common(TOP)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1])))
