"""Replay speed: decisions re-derived per second, on an in-process history of 100k decisions.

Run: ``.venv/bin/python -m bench.bench_replay [DECISIONS]``. The history is made by the real
correlator over simulated partitions (``tests/unit/audit/simulated.py``): subjects giving and
withdrawing consent, and a new police agreement version half way. Prints figures; asserts
nothing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from hub.audit import Replayer
from tests.unit.audit.simulated import Simulator, generate, world


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as keys:
        correlator, registry, agreements = world(Path(keys))
    sim = Simulator(correlator, registry)
    started = time.perf_counter()
    generate(sim, agreements, size)
    made = time.perf_counter() - started
    print(f"history: {len(sim.decisions):,} decisions from {len(sim.accepted):,} accepted records")
    print(f"{'generate (correlate + dispatch)':<40} {len(sim.decisions) / made:12,.0f} decisions/s")
    started = time.perf_counter()
    history = sim.history()  # verifies every MAC and governance signature, as replay does
    indexed = time.perf_counter() - started
    dispatcher = correlator.dispatcher
    replayer = Replayer(history, dispatcher.rules, registry, correlator.areas, dispatcher.id_keys())
    started = time.perf_counter()
    report = replayer.replay(sim.decisions)
    replayed = time.perf_counter() - started
    print(f"{'index accepted topic':<40} {len(sim.accepted) / indexed:12,.0f} records/s")
    print(f"{'replay (re-derive and compare)':<40} {report.entries / replayed:12,.0f} decisions/s")
    total = indexed + replayed
    print(f"{'end to end (index + replay)':<40} {report.entries / total:12,.0f} decisions/s")
    print(f"mismatches: {len(report.mismatches)}")


if __name__ == "__main__":
    main()
