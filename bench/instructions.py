"""Instructions of ``bench_domain``'s timed run, counted by valgrind's cachegrind.

Run: ``.venv/bin/python -m bench.instructions [--repeat N] [-- bench_domain options]``.
Needs ``valgrind`` on the PATH (Debian: ``valgrind``). Prints figures; asserts nothing.

CPU time on a shared or throttled host moves by a fifth between two runs a minute apart
(``docs/benchmarks.md``), more than most changes to the domain code; the number of
instructions a run executes does not depend on the host's speed or load. This runs
``bench_domain`` twice under cachegrind (no cache simulation, ``PYTHONHASHSEED=0``): once
stopping after its set-up (``--until set-up``: the load read, the services built) and once
after its timed run (``--until run``), and prints the difference: the instructions of
ingesting and correlating the load, and per event. Two runs of one tree differ by about
0.1 % (``--repeat``). Instructions are not time (a cache miss costs more than an add), so
this complements the CPU figures; it does not replace them. Each side of a comparison runs
from its own tree, as ``docs/benchmarks.md`` describes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")
EVENTS = 20_000
"""``bench_domain``'s default load (``--events``)."""


def instructions(report: str) -> int:
    """The instruction count in cachegrind's summary (``==PID== I   refs:  1,234``)."""
    found = _REFS.findall(report)
    if len(found) != 1:
        raise ValueError(f"expected one 'I refs' line in cachegrind's output, found {len(found)}")
    return int(found[0].replace(",", ""))


def counted(until: str, options: list[str]) -> int:
    """Instructions of one ``bench_domain`` process stopped at ``until``."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.bench_domain",
        "--until",
        until,
        *options,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"bench_domain --until {until} failed under valgrind:\n{done.stderr[-2000:]}"
        )
    return instructions(done.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind")
    parser.add_argument("options", nargs="*", help="passed to bench_domain (after --)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    events = EVENTS
    if "--events" in args.options:
        events = int(args.options[args.options.index("--events") + 1])
    for n in range(args.repeat):
        set_up = counted("set-up", args.options)
        run = counted("run", args.options)
        print(
            f"run {n + 1}: set-up {set_up / 1e6:,.1f} M, set-up and run {run / 1e6:,.1f} M"
            f" instructions; the run {(run - set_up) / 1e6:,.1f} M,"
            f" {(run - set_up) / events / 1e3:,.1f} k an event",
            flush=True,
        )


if __name__ == "__main__":
    main()
