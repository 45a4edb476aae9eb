"""The worker's per-event domain work, in process on one core: ingest, then correlate.

Run: ``.venv/bin/python -m bench.bench_domain [--events N] [--subjects S] [--single] [--profile]``.
Prints figures; asserts nothing. ``python -m bench.instructions`` counts the instructions of
its timed run under valgrind (a measure the host's speed and load do not move).

The load is the pipeline benchmark's (``bench.loadgen``), built once and kept with its keys
under ``.hub/bench-domain/`` so that every run sees the same bytes (delete the directory for
a fresh one). The real path runs, as the agents call it, with plain dicts for the faust
tables: each feed record, a sealed batch by default (``Load.records``; ``--single``: one
record per event, ``Load.messages``), goes through :meth:`hub.ingest.Ingest.process_record`
with the seen-events rows the ingest agent keeps (:class:`hub.seen.SeenEvents`); each
accepted record it writes is then handled by :class:`hub.correlation.Correlation` at its
next offset of its partition, and what the service returns is written: its rows stored,
its outbox and decisions records kept. Decision times are fixed (the load's build time
plus one millisecond per feed record, the time ingest puts in the accepted record, and the
time the service seals its outputs at), so a run is reproducible.

The digest is SHA-256 over what the two services return: the items of each accepted record
(each event's bytes, in record order), every alert of every outbox record with its encrypted
value replaced by the decrypted body (HPKE encryption is randomised; the body is what it
says), each decision's JSON, and the final subject states and SNA count rows as stored
(sealed values: the MAC is deterministic). Equal digests before and after a
change prove it changed no output (batch and ``--single`` runs group events differently,
so their digests differ).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import pickle
import pstats
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.loadgen import Generator, data_for
from hub.agency import FeedMessage as AgencyMessage
from hub.alerts import AlertBody
from hub.alerts.perflag import PerFlag
from hub.codec import SchemaStore
from hub.config import Settings, load_settings
from hub.correlation import Correlation, Outgoing, Tables, Wiring
from hub.correlation.values import Outcome
from hub.crypto import (
    GOVERNANCE,
    HUB,
    KeyKind,
    Keyring,
    alert_info,
    create_dev_keyring,
    partnership_owner,
)
from hub.crypto.record import Place, parse
from hub.disclosure import remember_states
from hub.dsa import encode_agreement_message
from hub.dsa.loader import load_directory
from hub.gcpolicy import CollectorMeter, settle
from hub.ingest import FeedMessage, Ingest
from hub.policy import PolicyClock, Switch
from hub.quarantine import SourceRef
from hub.runtime import load_correlator, load_ingest_context, load_registry_from, load_worker_keys
from hub.seen import SeenEvents
from hub.sequencer import Pending

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = ROOT / ".hub" / "bench-domain"


@dataclass(frozen=True)
class Fed:
    """One pre-sealed feed record and the agency whose feed it goes to."""

    agency_id: str
    message: AgencyMessage


@dataclass(frozen=True)
class Cached:
    """A built load, as single-event and batch records, and the moment it was built."""

    messages: list[Fed]
    records: list[Fed]
    built_at: datetime
    describe: str


@dataclass
class Outputs:
    """Everything the services returned, kept as bytes to digest after the timed run."""

    accepted: list[bytes] = field(default_factory=list)
    """Each accepted record's value, as ingest wrote it."""
    quarantined: list[bytes] = field(default_factory=list)
    outbox: list[Outgoing] = field(default_factory=list)
    decisions: list[Outgoing] = field(default_factory=list)
    events: int = 0
    """Events in the accepted records (what correlation folded)."""


def _settings() -> Settings:
    base = load_settings(deploy_dir=ROOT / "deploy", schemas_dir=ROOT / "schemas")
    registry = load_registry_from(base)
    data_dir, _ = data_for(base.data_dir, WORKDIR, registry, print)
    keys = WORKDIR / "keys"
    if not keys.exists():
        create_dev_keyring(keys, registry, datetime.now(UTC))
    keyring = Keyring.open(keys)  # a keyring made before the internal and governance keys
    if not keyring.infos_of(HUB, KeyKind.INTERNAL):
        keyring.generate(HUB, KeyKind.INTERNAL, datetime.now(UTC))
    if not keyring.infos_of(GOVERNANCE, KeyKind.SIGNING):
        keyring.generate(GOVERNANCE, KeyKind.SIGNING, datetime.now(UTC))
    return base.model_copy(update={"keys_dir": keys, "data_dir": data_dir.resolve()})


def _load(settings: Settings, events: int, subjects: int) -> Cached:
    path = WORKDIR / f"load-batched-{events}-{subjects}.pickle"
    if path.exists():
        with path.open("rb") as handle:
            return Cached(*pickle.load(handle))  # noqa: S301  # our own file
    registry = load_registry_from(settings)
    _, source = data_for(settings.data_dir, WORKDIR, registry, print)
    store = SchemaStore.load(settings.schemas_dir)
    keyring = Keyring.open(settings.keys_dir)
    built_at = datetime.now(UTC).replace(microsecond=0)
    load = Generator(settings.data_dir, source, store, registry, keyring).build(events, subjects)
    cached = Cached(
        [Fed(s.agency_id, s.message) for s in load.messages],
        [Fed(r.agency_id, r.message) for r in load.records],
        built_at,
        load.describe(),
    )
    with path.open("wb") as handle:
        pickle.dump((cached.messages, cached.records, cached.built_at, cached.describe), handle)
    return cached


def _clock(settings: Settings, published_at: datetime) -> PolicyClock:
    """Every shipped agreement published, and every partition switched to the last one."""
    clock = PolicyClock()
    agreements = sorted(
        (a for _, a in load_directory(settings.deploy_dir / "agreements").agreements),
        key=lambda a: (a.id, a.version),
    )
    for sequence, agreement in enumerate(agreements, start=1):
        clock.publish(encode_agreement_message(agreement, sequence, published_at))
    for partition in range(settings.partitions):
        clock.switch(partition, Switch(len(agreements)))
    return clock


class Domain:
    """One worker's ingest and correlation services, with dicts for their tables."""

    def __init__(self, settings: Settings, built_at: datetime) -> None:
        self.now = built_at
        self.built_at = built_at
        self.settings = settings
        ctx = replace(load_ingest_context(settings), clock=lambda: self.now)
        self.ingest = Ingest(ctx)
        self.seen_rows: dict[str, str] = {}
        self.seen = SeenEvents(self.seen_rows)
        keyring = Keyring.open(settings.keys_dir)
        correlator = load_correlator(settings, ctx.registry, keyring)
        clock = _clock(settings, built_at - timedelta(minutes=1))
        keys = load_worker_keys(settings, keyring)
        wiring = Wiring(settings, correlator, ctx.registry, clock, keys)
        self.subjects: dict[bytes, bytes] = {}
        self.sna: dict[bytes, bytes] = {}
        self.correlation = Correlation(wiring, Tables(self.subjects, self.sna), lambda: self.now)
        self.feed_offsets: dict[tuple[str, int], int] = {}
        self.offsets: dict[int, int] = {}

    def feed(self, fed: Fed, n: int) -> FeedMessage:
        """The feed message the ingest agent would build for the n-th record."""
        self.now = self.built_at + timedelta(milliseconds=n)
        topic = self.settings.feed_topic(fed.agency_id)
        partition = fed.message.partition or 0
        offset = self.feed_offsets.get((topic, partition), 0)
        self.feed_offsets[topic, partition] = offset + 1
        return FeedMessage(
            value=fed.message.value,
            key=fed.message.key,
            headers=tuple(fed.message.headers),
            source=SourceRef(topic=topic, partition=partition, offset=offset),
            feed_agency=fed.agency_id,
            received_at=self.now,
        )

    async def correlate(self, value: bytes, partition: int, out: Outputs) -> Outcome:
        """As ``agents.correlate``: handle the record at its partition's next offset, send
        what it returns (kept here), then store its rows."""
        offset = self.offsets.get(partition, 0)
        self.offsets[partition] = offset + 1
        place = Place(self.settings.accepted_topic, partition)
        result = await self.correlation.handle(value, place, offset)
        out.outbox += result.outbox
        out.decisions += result.decisions
        out.events += result.outcome.events
        for row in result.rows:
            (self.subjects if row.table == "subjects" else self.sna)[row.key] = row.value
        return result.outcome


async def _run(
    domain: Domain, records: Sequence[Fed], lag: int, out: Outputs
) -> tuple[float, float, int]:
    """Ingest records until ``lag`` events, then correlate what they produced, and so on.

    A worker's correlation trails its ingest by a few fetches, never by the whole load.
    Returns CPU seconds of ingest and of correlation, and the events ingest judged.
    """
    ingest_s = correlate_s = 0.0
    accepted_topic = domain.settings.accepted_topic
    judged = n = 0
    while n < len(records):
        started = time.process_time()
        fresh: list[tuple[bytes, int]] = []
        batch = 0
        while n < len(records) and batch < lag:
            outcome = domain.ingest.process_record(domain.feed(records[n], n), domain.seen)
            n += 1
            batch += len(outcome.outcomes)
            for message in outcome.messages:
                if message.topic == accepted_topic:
                    fresh.append((message.value, message.partition or 0))
                else:
                    out.quarantined.append(message.value)
        judged += batch
        ingested = time.process_time()
        for value, partition in fresh:
            await domain.correlate(value, partition, out)
        out.accepted += [value for value, _ in fresh]
        ingest_s += ingested - started
        correlate_s += time.process_time() - ingested
    return ingest_s, correlate_s, judged


def _digest(
    domain: Domain, out: Outputs, per_flag: PerFlag
) -> tuple[str, dict[str, str], dict[str, int]]:
    """The digest of every output, each part's own (``in``: accepted items, ``quarantine``,
    ``alert``: alert bodies, ``decision``: decision records, ``state``: the subject rows as
    stored, ``sna``: the count rows; the whole is the parts in that order) and the counts."""
    keyring = Keyring.open(domain.settings.keys_dir)
    keys = {
        r.partnership_id: keyring.hpke_key(partnership_owner(r.partnership_id))
        for r in domain.correlation.wiring.correlator.dispatcher.recipients
    }
    counts = dict.fromkeys(("accepted", "quarantined", "pending", "decisions"), 0)
    counts |= {"accepted_records": len(out.accepted), "outbox_records": len(out.outbox)}
    digest = hashlib.sha256()
    parts: dict[str, hashlib._Hash] = {}

    def update(part: str, data: bytes) -> None:
        digest.update(part.encode() + b"\x00" + data)
        parts.setdefault(part, hashlib.sha256()).update(data)

    for value in out.accepted:
        for item in parse(value).items:
            update("in", item)
            counts["accepted"] += 1
    for value in out.quarantined:
        update("quarantine", value)
        counts["quarantined"] += 1
    for outgoing in out.outbox:
        for item in parse(outgoing.value).items:
            pending = Pending.from_bytes(item)
            body = keys[pending.partnership_id].open(
                pending.value, alert_info(pending.partnership_id, pending.alert_id)
            )
            update("alert", replace(pending, value=body).to_bytes())
            counts["pending"] += 1
            opened = AlertBody.from_bytes(body)
            per_flag.add(pending.partnership_id, opened.flag_id, opened.kind)
    for outgoing in out.decisions:
        for item in parse(outgoing.value).items:
            update("decision", item)
            counts["decisions"] += 1
    for token, value in sorted(domain.subjects.items()):
        update("state", token + b"\x00" + value)
    for key, value in sorted(domain.sna.items()):
        update("sna", key + b"\x00" + value)
    each = {name: part.hexdigest()[:16] for name, part in parts.items()}
    counts |= {"subjects": len(domain.subjects), "sna": len(domain.sna)}
    return digest.hexdigest(), each, counts


async def _ticks(domain: Domain, ticks: int, interval: timedelta, out: Outputs) -> None:
    """After the load: ``ticks`` clock ticks of every partition, ``interval`` apart (each
    partition's in turn, as the worker's rota sends them), timed apart. The first tick of a
    partition scans its whole table (it builds the index of flagged subjects); the later ones
    read the flagged subjects only, as a running worker's do."""
    partitions = domain.settings.partitions
    cpu = [0.0, 0.0]
    read = [0, 0]
    changed = decisions = 0
    start = domain.now
    for k in range(1, ticks + 1):
        later = int(k > 1)
        for partition in range(partitions):
            domain.now = start + interval * (k - 1) + interval * (partition + 1) / partitions
            value = domain.correlation.tick(partition, domain.now)
            before = len(out.decisions)
            started = time.process_time()
            outcome = await domain.correlate(value, partition, out)
            cpu[later] += time.process_time() - started
            read[later] += outcome.subjects_read
            changed += outcome.subjects_changed
            decisions += sum(len(parse(d.value).items) for d in out.decisions[before:])
    rounds = (ticks - 1) * partitions
    print(
        f"ticks     first {partitions} rounds {cpu[0] * 1e3:.1f} ms CPU ({read[0]} subjects read);"
        f" later {rounds} rounds {cpu[1] * 1e3:.1f} ms CPU"
        f" ({cpu[1] / max(rounds, 1) * 1e3:.2f} ms a round, {read[1]} subjects read);"
        f" {changed} subjects changed, {decisions} decision records"
        f" ({interval.total_seconds():g} s apart)"
    )


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options this benchmark and ``bench_backtest`` share: the collector and cProfile."""
    parser.add_argument(
        "--python-gc",
        action="store_true",
        help="leave the collector as CPython sets it (no hub.gcpolicy.settle), to compare",
    )
    parser.add_argument("--profile", action="store_true", help="run under cProfile, print the top")
    parser.add_argument("--top", type=int, default=40, help="functions listed with --profile")
    parser.add_argument("--profile-out", type=Path, help="with --profile: dump the stats there")


def print_profile(profiler: cProfile.Profile, top: int, out: Path | None) -> None:
    """``--profile``'s report: the ``top`` functions by own time; the stats dumped to ``out``."""
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)
    if out is not None:
        profiler.dump_stats(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--subjects", type=int, default=5_000)
    parser.add_argument(
        "--lag", type=int, default=1000, help="events ingested before correlation catches up"
    )
    parser.add_argument(
        "--single", action="store_true", help="one feed record per event (the old path)"
    )
    parser.add_argument(
        "--ticks",
        type=int,
        default=0,
        help="then this many clock ticks of every partition (timed apart; changes the digest)",
    )
    parser.add_argument("--tick-interval", type=float, default=30.0, help="seconds between ticks")
    parser.add_argument(
        "--until",
        choices=("set-up", "run"),
        help="stop after the set-up (the load read, the services built) or after the timed"
        " run, printing nothing more: bench.instructions counts the run's instructions as"
        " the difference of the two",
    )
    add_run_options(parser)
    args = parser.parse_args()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    settings = _settings()
    cached = _load(settings, args.events, args.subjects)
    records = cached.messages if args.single else cached.records
    print(f"load: {cached.describe}; {len(records)} feed records")
    domain = Domain(settings, cached.built_at)
    remember_states(settings.state_capacity)
    frozen = 0 if args.python_gc else settle(settings.gc_young_threshold)  # as the worker
    out = Outputs()
    if args.until == "set-up":
        return
    meter = CollectorMeter.start()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    ingest_s, correlate_s, judged = asyncio.run(_run(domain, records, args.lag, out))
    if profiler is not None:
        profiler.disable()
    meter.stop()
    if args.until == "run":
        return
    if args.ticks:
        asyncio.run(_ticks(domain, args.ticks, timedelta(seconds=args.tick_interval), out))
    both = ingest_s + correlate_s
    for name, seconds, events in (
        ("ingest", ingest_s, judged),
        ("correlate", correlate_s, out.events),
        ("both", both, judged),
    ):
        print(
            f"{name:<9} {events:>7} events {seconds:7.2f} s CPU"
            f" {seconds / events * 1e6:7.1f} µs/event {events / seconds:10,.0f} events/s"
        )
    print(
        f"gc: threshold {gc.get_threshold()}, {frozen} objects frozen at start;"
        f" collections per generation {meter.counts},"
        f" {' / '.join(f'{s / judged * 1e6:.1f}' for s in meter.seconds)} µs/event"
        f" ({sum(meter.seconds) / judged * 1e6:.1f} in all)"
    )
    per_flag = PerFlag()
    digest, parts, counts = _digest(domain, out, per_flag)
    print("outputs:", ", ".join(f"{k}={v}" for k, v in counts.items()))
    print("alerts per flag (outbox items; the sequencer drops repeated alert ids):")
    print("\n".join(per_flag.lines()))
    print(f"digest: {digest}")
    print("parts:", ", ".join(f"{k}={v}" for k, v in parts.items()))
    if profiler is not None:
        print_profile(profiler, args.top, args.profile_out)


if __name__ == "__main__":
    main()
