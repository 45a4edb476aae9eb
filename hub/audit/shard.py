"""Replay sharded across processes by accepted-topic partition (``hub audit replay --workers``).

**Why partitions replay independently.** Every decision is taken at a position of the
accepted topic about the events of one subject, and ingest keys every event of a subject,
consent events included, with the subject's linkage token (``hub.ingest``, ``partition_for``),
so a subject's events, consent state and flags all live in one partition. What one entry's
replay leaves behind for later entries is only (a) the decision ids seen (a repeat is
skipped) and (b) the flags each partnership holds, per subject (the alert ids of later
permits and retractions: :class:`~hub.audit.rederive.Rederiver`). Everything else it keeps
(flags derived, agreement decisions remembered, JSON forms) caches pure functions of the
streams. So the entries grouped by the partition of their position, each group replayed in
ledger order by its own :class:`~hub.audit.replay.Replayer` in its own process, give the
serial replay's answers; the merged report is the serial one (counts summed, mismatches and
explanations in ledger order, the summary's counters added).

**Checked, not assumed.** A hostile ledger may repeat a decision id at another position, and
a topic whose partition count changed may hold a subject in two partitions. Each shard
therefore says which decision ids it looked up and which subjects' held flags it read; when
two shards share any, the shards' results are thrown away and the whole replay runs again in
this process (``Sharded.fallback`` says why). So it does when a worker process dies or fails
(killed for memory, a bug): the report never rests on a shard that did not finish. An entry
whose partition cannot be read from its bytes goes to the smallest shard and is judged by
that same check.

The processes are started with ``spawn`` (nothing inherited but what is pickled): each one
gets a ``build`` callable, picklable, that makes its :class:`Replayer` (its own
:class:`~hub.audit.history.History` indexed from the records it carries), and its entries.

**Each process indexes its own partitions.** A ``build`` with a ``scoped`` method
(:class:`Scoped`) is asked for a replayer whose history indexes only the partitions of the
process's entries (the calling process: every partition no other process takes), so no
process decodes the whole accepted topic. Such a history notes what it was asked that its
partitions alone may answer otherwise than the whole stream (:class:`~hub.audit.history.Reach`):
an event id or a subject's consent events that another shard's partitions hold (an event
redelivered in, or a subject split across, two partitions), or a position, or every event,
out of its partitions. The same check then throws the shards' results away and replays in
this process. The history's counts are each shard's own partitions' counts, added.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
import structlog

from hub.audit.history import Scope
from hub.audit.mismatch import Mismatch
from hub.audit.replay import Replayer
from hub.audit.report import ReplayReport, ShardResult, Window
from hub.audit.watermark import WatermarkCounts
from hub.errors import AuditError, HubError

log = structlog.get_logger("hub.audit")

Build = Callable[[], Replayer]
"""Makes a replayer (called once in each worker process; must be picklable)."""


class Scoped(Protocol):
    """A :data:`Build` that can also make a replayer whose history indexes some partitions."""

    def __call__(self) -> Replayer: ...

    def scoped(self, scope: Scope) -> Replayer:
        """A replayer whose history indexes the partitions ``scope`` keeps only."""
        ...


_PLACE = b',"position":{"partition":'
_DIGITS = 10
ENTRIES_PER_PROCESS = 10_000
"""The fewest entries per process :func:`default_workers` shards a replay into."""


@dataclass(slots=True)
class Sharded:
    """A replay's report and the history's counts, and how it was run."""

    report: ReplayReport
    history: dict[str, int]
    """The accepted and agreements topics' counts (:class:`~hub.audit.history.Counts`, and
    ``records``)."""
    shards: int
    """Processes the entries were replayed in (1: in this process)."""
    fallback: str | None = None
    """Why shards' results were thrown away and the replay run in this process, if they were
    (two shards shared a decision id or a subject, or a worker process failed)."""
    cpu: list[float] = field(default_factory=list)
    """Each shard's CPU seconds in its process (its replayer built, its entries replayed;
    this process's shard first), when sharded."""


def default_workers(entries: int) -> int:
    """The cores this process may run on, but one process per ``ENTRIES_PER_PROCESS``
    entries at most: starting a process (an interpreter, its imports, its own history
    indexed) costs about a second, which a small ledger does not repay."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, entries // ENTRIES_PER_PROCESS))


def replay_sharded(
    values: Sequence[bytes],
    build: Build,
    workers: int,
    *,
    window: Window | None = None,
    explain: Collection[str] = (),
    advance: Callable[[], None] | None = None,
) -> Sharded:
    """Replay the entries (decisions-topic values, in order) in up to ``workers`` processes.

    The result equals :meth:`Replayer.replay` over all of them in one process (module doc).
    ``advance`` is called once per entry: as it is replayed for this process's shard, and
    for another process's entries when that process returns them.
    """
    window = window or Window()
    shards, scopes = planned(values, workers)
    if len(shards) < 2:  # noqa: PLR2004  # one shard: no process is worth starting
        return _serial(values, build, window, explain, advance)
    try:
        results = _in_processes(values, (build, scopes), shards, (window, explain), advance)
    except _ShardFailedError as failed:
        log.warning("audit.replay.shard_failed", error=failed.kind)
        serial = _serial(values, build, window, explain, None)
        serial.fallback = f"a replay process failed ({failed.kind})"
        return serial
    why = conflict(results)
    if why is not None:
        serial = _serial(values, build, window, explain, None)
        serial.fallback = why
        return serial
    return Sharded(
        merge(results, explain), merged_counts(results), len(shards), cpu=[r.cpu for r in results]
    )


class _ShardFailedError(Exception):
    """A worker process died or raised while replaying its shard (``kind``: the error's type)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _in_processes(
    values: Sequence[bytes],
    builds: tuple[Build, list[Scope]],
    shards: list[list[int]],
    options: tuple[Window, Collection[str]],
    advance: Callable[[], None] | None,
) -> list[ShardResult]:
    """Each shard's result: the first replayed here while the others run in processes.

    A shard whose replayer cannot be built is an AuditError (one process could not build it
    either); a process that dies or raises anything else is :class:`_ShardFailedError`, and
    the caller replays in this process instead: an auditor gets the report, not a traceback
    from a pool. Entries already counted through ``advance`` for other processes are not,
    since those processes return only when done.
    """
    window, explain = options
    build, scopes = builds
    context = multiprocessing.get_context("spawn")
    results: list[ShardResult] = []
    with ProcessPoolExecutor(max_workers=len(shards) - 1, mp_context=context) as pool:
        futures = {}
        for shard, scope in zip(shards[1:], scopes[1:], strict=True):
            items = [(n, values[n]) for n in shard]
            task = pool.submit(_replay_shard, (build, scope), items, window, explain)
            futures[task] = len(shard)
        # this process replays the first shard while the others start and replay theirs
        cpu = time.process_time()
        replayer = _built(build, scopes[0])
        own = replayer.shard(((n, values[n]) for n in shards[0]), window, explain, advance)
        own.cpu = time.process_time() - cpu
        results.append(own)
        for future in as_completed(futures):
            try:
                done = future.result()
            except Exception as exc:  # a broken pool, or a failure inside the process
                for other in futures:
                    other.cancel()
                raise _ShardFailedError(type(exc).__name__) from exc
            if isinstance(done, str):
                raise AuditError(f"a replay shard could not start: {done}")
            results.append(done)
            if advance is not None:
                for _ in range(futures[future]):
                    advance()
    return results


def plan(values: Sequence[bytes], workers: int) -> list[list[int]]:
    """The entries' indices in shards: whole partitions, the largest first into the smallest
    shard, each shard in ledger order, the largest shard first (the calling process replays
    it while the others start); empty shards left out."""
    return planned(values, workers)[0]


def planned(values: Sequence[bytes], workers: int) -> tuple[list[list[int]], list[Scope]]:
    """:func:`plan`'s shards, and the partitions each shard's history indexes: those its
    entries name, and for the first shard every partition no other shard's entries name."""
    by_partition: dict[int, list[int]] = {}
    unplaced: list[int] = []
    for n, value in enumerate(values):
        partition = partition_of(value)
        (unplaced if partition is None else by_partition.setdefault(partition, [])).append(n)
    shards: list[tuple[list[int], set[int]]] = [([], set()) for _ in range(max(workers, 1))]
    groups = sorted(by_partition.items(), key=lambda item: (-len(item[1]), item[0]))
    for partition, group in [*groups, (-1, unplaced)]:
        smallest = min(shards, key=lambda shard: len(shard[0]))
        smallest[0].extend(group)
        if group and partition >= 0:
            smallest[1].add(partition)
    kept = sorted(
        ((sorted(shard), partitions) for shard, partitions in shards if shard),
        key=lambda shard: len(shard[0]),
        reverse=True,
    )
    others = frozenset().union(*(partitions for _, partitions in kept[1:]))
    scopes = [Scope(others, others=True)] + [Scope(frozenset(p)) for _, p in kept[1:]]
    return [shard for shard, _ in kept], scopes


def _built(build: Build, scope: Scope) -> Replayer:
    """A replayer whose history indexes the scope's partitions when ``build`` can make one
    (:class:`Scoped`), else every partition."""
    scoped = getattr(build, "scoped", None)
    return build() if scoped is None else scoped(scope)


def partition_of(value: bytes) -> int | None:
    """The partition an entry names in its ``position`` (a guess: see the module doc), read
    from bytes laid out as the live path writes them, else from the parsed JSON; None when
    it names none."""
    at = value.rfind(_PLACE)
    if at >= 0:
        start = at + len(_PLACE)
        digits = value[start : value.find(b",", start)]
        if digits.isdigit() and len(digits) < _DIGITS:
            return int(digits)
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    position = raw.get("position") if isinstance(raw, dict) else None
    partition = position.get("partition") if isinstance(position, dict) else None
    return partition if type(partition) is int else None


def _replay_shard(
    builds: tuple[Build, Scope],
    items: list[tuple[int, bytes]],
    window: Window,
    explain: Collection[str],
) -> ShardResult | str:
    """One shard, in a worker process; a string saying why when its replayer cannot be built."""
    cpu = time.process_time()
    try:
        replayer = _built(*builds)
    except HubError as exc:  # typed errors carry data a pickle may not restore: say it in text
        return f"{type(exc).__name__}: {exc}"
    result = replayer.shard(items, window, explain)
    result.cpu = time.process_time() - cpu
    return result


def _serial(
    values: Sequence[bytes],
    build: Build,
    window: Window,
    explain: Collection[str],
    advance: Callable[[], None] | None,
) -> Sharded:
    replayer = build()
    report = replayer.replay(values, window, explain, advance)
    return Sharded(report, replayer.history_counts(), 1)


def conflict(results: Sequence[ShardResult]) -> str | None:
    """Why the shards' results may not be the serial ones, or None (module doc)."""
    ids: set[str] = set()
    subjects: set[str] = set()
    for result in results:
        if not ids.isdisjoint(result.asked):
            return "a decision id is in two shards"
        if not subjects.isdisjoint(result.subjects):
            return "a subject's flags are in two shards"
        ids |= result.asked
        subjects |= result.subjects
    return _reached(results)


def _reached(results: Sequence[ShardResult]) -> str | None:
    """Why a shard's history, indexing its own partitions, may have answered otherwise than
    the whole stream (module doc), or None."""
    reaches = [r.reach for r in results if r.reach is not None]
    for n, reach in enumerate(reaches):
        if reach.strayed:
            return "an event or a subject a shard's history read is in two shards' partitions"
        for other in reaches[:n] + reaches[n + 1 :]:
            if not reach.events.isdisjoint(other.held_events):
                return "an event a shard looked up is in another shard's partitions"
            if not reach.subjects.isdisjoint(other.held_subjects):
                return "a subject's consent events are in another shard's partitions"
    return None


def merge(results: Sequence[ShardResult], explain: Collection[str]) -> ReplayReport:
    """The shards' results as one report (in ledger order: module doc)."""
    report = ReplayReport()
    mismatches: list[tuple[int, Mismatch]] = []
    explanations: list[tuple[int, dict[str, Any]]] = []
    watermark: WatermarkCounts | None = None
    for result in results:
        report.entries += result.entries
        report.repeats += result.repeats
        report.outside += result.outside
        report.mismatched += result.mismatched
        report.validated += result.validated
        report.tally.merge(result.tally)
        mismatches += result.mismatches
        explanations += result.explanations
        if result.watermark is not None:
            watermark = result.watermark if watermark is None else watermark.merge(result.watermark)
    # an entry's own mismatches stay in their order: the sort is stable
    report.mismatches = [m for _, m in sorted(mismatches, key=lambda item: item[0])]
    report.explanations = [e for _, e in sorted(explanations, key=lambda item: item[0])]
    explained = {e["decision_id"] for e in report.explanations}
    report.unexplained = sorted(set(explain) - explained)
    report.watermark = None if watermark is None else watermark.to_json()
    return report


def merged_counts(results: Sequence[ShardResult]) -> dict[str, int]:
    """The history's counts: each shard's are the same but for the events it found
    undecodable when it looked them up (counted once each, as one history would). Shards
    whose histories indexed their own partitions each count those partitions' records (then
    added; the agreements topic's counts are every shard's)."""
    first = results[0]
    looked_up: set[str] = set()
    for result in results:
        looked_up |= result.undecodable_events
    if first.reach is None:
        undecodable = first.history["undecodable"] - len(first.undecodable_events)
        return first.history | {"undecodable": undecodable + len(looked_up)}
    counts = dict(first.history)
    for result in results[1:]:
        for name in ("records", "undecodable", "bad_markers", "refused", "unverified"):
            counts[name] += result.history[name]
    undecodable = counts["undecodable"] - sum(len(r.undecodable_events) for r in results)
    return counts | {"undecodable": undecodable + len(looked_up)}
