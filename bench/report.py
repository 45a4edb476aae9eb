"""The pipeline benchmark's results: a table for people, a JSON file for tools."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench.loadgen import Load

ROOT = Path(__file__).resolve().parent.parent
THROUGHPUT_PHASES = (
    "passthrough",
    "faust-hop",
    "faust-topology",
    "peer-floor",
    "pipeline-1",
    "pipeline-2",
)
TARGETS = {"pipeline_events_per_s": 20_000, "ratio_to_ceiling": 0.5, "p99_ms": 250}
REPLAY_MODULE = ROOT / "bench" / "bench_replay.py"
RATE = re.compile(r"([\d,]+(?:\.\d+)?)\s*(?:decisions|entries)/s")


def parse_json(line: bytes) -> dict[str, Any]:
    """One JSON object from a line a child process printed."""
    value = json.loads(line.decode())
    if not isinstance(value, dict):
        raise TypeError("expected a JSON object")
    return value


def latency_line(f: dict[str, Any]) -> str:
    """The latency figures on one line."""
    rests = f"; p99 is the {_nth(f['p99_rests_on'])}slowest" if "p99_rests_on" in f else ""
    tail = f", p99.9 {f['p999_ms']} ms" if "p999_ms" in f else ""
    return (
        f"p50 {f['p50_ms']} ms, p95 {f['p95_ms']} ms, p99 {f['p99_ms']} ms{tail}"
        f" (max {f['max_ms']} ms) over {f['alerts_measured']} alerts{rests}"
        f" at {f['offered_events_per_s']} events/s"
    )


def slowest_line(f: dict[str, Any]) -> str:
    """Where the slowest alerts' time went: when in the load their event was sent, the time
    from that send to the alert record (the worker) and from the record to receipt."""
    listed = ", ".join(
        f"{s['latency_ms']:.0f} (at {s['sent_s']:.1f} s: {s['in_worker_ms']:.0f}"
        f" + {s['delivery_ms']:.0f})"
        for s in f.get("slowest", ())
    )
    return (
        f"median in worker {f.get('in_worker_p50_ms')} ms + delivery {f.get('delivery_p50_ms')}"
        f" ms; slowest, ms (sent at, in the load: worker + delivery): {listed}"
    )


def by_second_line(f: dict[str, Any]) -> str:
    """Latency against send time, one ``second: alerts, p50/max (worker max)`` per second of
    the load (``Receipts.by_second``): whether it climbs through the load or jumps at its end."""
    listed = "; ".join(
        f"{b['sent_s']:g}s: {b['alerts']}, {b['p50_ms']:.0f}/{b['max_ms']:.0f}"
        f" ({b['in_worker_max_ms']:.0f})"
        for b in f.get("by_second", ())
    )
    return f"by send second (alerts, p50/max ms (max in worker)): {listed}"


def _nth(n: int) -> str:
    """``""`` for 1 (the slowest), else ``"2nd "``, ``"4th "``, ``"11th "``."""
    if n <= 1:
        return ""
    teen = n % 100 in (11, 12, 13)
    return f"{n}{'th' if teen else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')} "


def output_problems(counts: Mapping[str, int], events: int) -> list[str]:
    """Why a pipeline phase's figure cannot be trusted: events not accepted, or quarantined.

    A hub that quarantines everything is fast; its events/s would measure nothing.
    """
    problems = []
    accepted = counts.get("accepted_items", 0)
    if accepted < events:
        problems.append(f"{accepted} of {events} events accepted")
    if counts.get("quarantined", 0):
        problems.append(f"{counts['quarantined']} records quarantined")
    return problems


def _machine() -> dict[str, Any]:
    load1, load5, _ = os.getloadavg()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text(encoding="ascii").splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_average_1m_5m_at_end": [round(load1, 2), round(load5, 2)],
    }


def finish(figures: dict[str, Any], load: Load, broker_note: str) -> dict[str, Any]:
    """Add the ratio, the targets and where and when it ran."""
    ceiling = figures.get("passthrough", {}).get("events_per_s")
    one = figures.get("pipeline-1", {}).get("events_per_s")
    two = figures.get("pipeline-2", {}).get("events_per_s")
    derived: dict[str, Any] = {}
    if ceiling and one:
        derived["ratio_to_ceiling"] = round(one / ceiling, 3)
    if one and two:
        derived["two_workers_speedup"] = round(two / one, 2)
    floor = figures.get("faust-topology", {}).get("events_per_s")
    if floor and one:
        derived["ratio_to_faust_floor"] = round(one / floor, 3)
    peer = figures.get("peer-floor", {}).get("events_per_s")
    if peer and one:
        derived["ratio_to_peer_floor"] = round(one / peer, 3)
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": _machine(),
        "broker": broker_note,
        "load": {
            "events": len(load.messages),
            "subjects": load.subjects,
            "source": load.source,
            "by_agency": dict(sorted(load.by_agency.items())),
        },
        "settings": {k: v for k, v in sorted(os.environ.items()) if k.startswith("BENCH_")},
        "phases": figures,
        "derived": derived,
        "targets": TARGETS,
    }


def table(figures: dict[str, Any]) -> str:
    """A Markdown table of the headline figures."""
    phases, derived = figures["phases"], figures["derived"]
    rows = [("figure", "value", "target")]
    for name in THROUGHPUT_PHASES:
        if name in phases:
            p = phases[name]
            rss = f", worker peak RSS {max(p['peak_rss_mib'])} MiB" if p.get("peak_rss_mib") else ""
            bad = f" INVALID: {'; '.join(p['invalid'])}" if p.get("invalid") else ""
            target = f">= {TARGETS['pipeline_events_per_s']:,}" if name == "pipeline-1" else ""
            rows.append(
                (f"{name} events/s", f"{p['events_per_s']:,} ({p['seconds']} s{rss}){bad}", target)
            )
    if "ratio_to_ceiling" in derived:
        rows.append(("pipeline-1 / passthrough", f"{derived['ratio_to_ceiling']}", ">= 0.5"))
    if "ratio_to_faust_floor" in derived:
        rows.append(("pipeline-1 / faust-topology", f"{derived['ratio_to_faust_floor']}", ""))
    if "ratio_to_peer_floor" in derived:
        rows.append(("pipeline-1 / peer-floor", f"{derived['ratio_to_peer_floor']}", ""))
    if "two_workers_speedup" in derived:
        rows.append(("pipeline-2 / pipeline-1", f"{derived['two_workers_speedup']}", ""))
    for name in sorted(n for n in phases if n.startswith("latency@")):
        target = "p99 < 250 ms" if name.startswith("latency@1000") else ""
        rows.append((name, latency_line(phases[name]), target))
    if "audit_replay" in phases:
        rows.append(("audit replay", phases["audit_replay"], ""))
    lines = [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines.insert(1, "|---|---|---|")
    return "\n".join(lines)


def replay_figure(figures: dict[str, Any], echo: Callable[[str], None]) -> None:
    """Audit replay decisions/s from ``bench/bench_replay.py`` when it exists."""
    if not REPLAY_MODULE.exists():
        note = "not measured: bench/bench_replay.py is not present (see docs/benchmarks.md)"
        figures["phases"]["audit_replay"] = note
        echo(f"audit replay: {note}")
        return
    size = os.environ.get("BENCH_REPLAY_DECISIONS", "20000")  # the rate hardly depends on it
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_replay", size],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    rates = [m.group(0) for m in RATE.finditer(done.stdout)]
    last = (done.stderr.strip().splitlines() or [""])[-1][:200]
    failed = f"bench_replay failed (exit {done.returncode}): {last}"
    figures["phases"]["audit_replay"] = rates[-1] if rates else failed
    echo(f"audit replay: {figures['phases']['audit_replay']}")


def write(directory: Path, figures: dict[str, Any], echo: Callable[[str], None]) -> None:
    """Write ``pipeline.json`` and ``pipeline.md`` under ``directory`` and print the table."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pipeline.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    machine = figures["machine"]
    head = (
        f"# Pipeline benchmark, {figures['date']}\n\n{machine['cpus']} CPUs ({machine['cpu']}),"
        f" Python {machine['python']}, load average at end {machine['load_average_1m_5m_at_end']}."
        f" Load: {figures['load']['events']} events, {figures['load']['subjects']} subjects,"
        f" {figures['load']['source']}."
        f" Settings: {figures['settings'] or 'defaults'}.\n\n"
    )
    text = table(figures)
    (directory / "pipeline.md").write_text(head + text + "\n", encoding="utf-8")
    echo(text)
