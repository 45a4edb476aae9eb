"""The worker's per-event domain work, in process on one core: ingest, then correlate.

Run: ``.venv/bin/python -m bench.bench_domain [--events N] [--subjects S] [--profile]``.
Prints figures; asserts nothing.

The load is the pipeline benchmark's (``bench.loadgen``), built once and kept with its keys
under ``.hub/bench-domain/`` so that every run sees the same bytes (delete the directory for
a fresh one). Each feed message goes through :meth:`hub.ingest.Ingest.process` (plain dicts
stand in for the faust tables), then each accepted record as ``agents.correlate`` takes it:
its MAC verified for its partition, its event folded (:meth:`hub.correlate.Correlator.
fold_event`) with the subject state read from and written to a dict as a sealed table value
(``hub.crypto.tablevalue``), a :class:`hub.dispatch.Moment` built as the agent builds it,
every agreement published and switched to; each outbox record is MACed and each step's
decisions signed as one record, as the agent sends them. Decision times are fixed (the
load's build time plus one millisecond per feed record, the time ingest puts in the accepted
record), so a run is reproducible.

The digest is SHA-256 over every output: ingest's out-bound records, each alert for the
outbox with its encrypted value replaced by the decrypted body (HPKE encryption is
randomised; the body is what it says), each decision record's JSON and the final subject
states. Equal digests before and after a change prove it changed no output.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pickle
import pstats
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.loadgen import Generator, Sent, data_for
from hub.alerts import AlertBody
from hub.alerts.perflag import PerFlag
from hub.codec import SchemaStore
from hub.config import Settings, load_settings
from hub.correlate import Correlator
from hub.crypto import (
    GOVERNANCE,
    HUB,
    KeyKind,
    Keyring,
    alert_info,
    create_dev_keyring,
    partnership_owner,
)
from hub.crypto.record import Kind, Place
from hub.crypto.tablevalue import Row, seal_value, value_of
from hub.crypto.trust import RecordVerifier, TrustedKeys, seal_record
from hub.dispatch import Step, SubjectState
from hub.dsa import encode_agreement_message
from hub.dsa.loader import load_directory
from hub.ingest import FeedMessage, Ingest, Outbound
from hub.policy import Moments, PolicyClock, Switch
from hub.quarantine import SourceRef
from hub.runtime import load_correlator, load_ingest_context, load_registry_from
from hub.sequencer import Pending
from hub.sna import CountContext, Located
from hub.sna.stream import TABLE as SNA_TABLE
from hub.sna.stream import Mark, tally

ROOT = Path(__file__).resolve().parent.parent
WORKDIR = ROOT / ".hub" / "bench-domain"


@dataclass(frozen=True)
class Cached:
    """A built load and the moment it was built (the decision clock starts there)."""

    messages: list[Sent]
    built_at: datetime
    describe: str


@dataclass
class Outputs:
    """Everything the domain produced, kept to digest after the timed run.

    ``emitted`` holds what the correlate agent sends, as it sends it (``Pending.to_bytes()``
    for the outbox, a decision record's JSON for the ledger), tagged ``P`` or ``D``: bytes,
    which the garbage collector never scans, unlike the objects they were made from.
    """

    accepted: list[Outbound] = field(default_factory=list)
    ingest: list[bytes] = field(default_factory=list)
    emitted: list[bytes] = field(default_factory=list)


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
    path = WORKDIR / f"load-{events}-{subjects}.pickle"
    if path.exists():
        with path.open("rb") as handle:
            messages, built_at, describe = pickle.load(handle)  # noqa: S301  # our own file
        return Cached(messages, built_at, describe)
    registry = load_registry_from(settings)
    _, source = data_for(settings.data_dir, WORKDIR, registry, print)
    store = SchemaStore.load(settings.schemas_dir)
    keyring = Keyring.open(settings.keys_dir)
    built_at = datetime.now(UTC).replace(microsecond=0)
    load = Generator(settings.data_dir, source, store, registry, keyring).build(events, subjects)
    cached = Cached(load.messages, built_at, load.describe())
    with path.open("wb") as handle:
        pickle.dump((cached.messages, cached.built_at, cached.describe), handle)
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
    """What one worker does per event, with dicts for its tables."""

    def __init__(self, settings: Settings, built_at: datetime) -> None:
        self.now = built_at
        ctx = replace(load_ingest_context(settings), clock=lambda: self.now)
        self.settings = settings
        self.ingest = Ingest(ctx)
        keyring = Keyring.open(settings.keys_dir)
        self.correlator: Correlator = load_correlator(settings, ctx.registry, keyring)
        self.verifier = RecordVerifier(TrustedKeys.from_keyring(keyring))
        self.internal = ctx.internal_key
        self.hub_key = keyring.signing_key(HUB)
        self.registry = ctx.registry
        self.clock = _clock(settings, built_at - timedelta(minutes=1))
        self.moments = Moments(self.clock, self.registry)
        self.seen: dict[str, str] = {}
        self.subjects: dict[str, bytes] = {}
        self.sna: dict[bytes, bytes] = {}
        self.sna_context = CountContext(
            self.correlator.areas,
            self.registry,
            lambda p, o: self.moments.at(p, self.now, o).policy,
        )
        self.feed_offsets: dict[str, int] = {}
        self.offsets: dict[int, int] = {}
        self.built_at = built_at

    def feed(self, sent: Sent, n: int) -> FeedMessage:
        """The feed message the ingest agent would build for the n-th record."""
        self.now = self.at(n)
        topic = self.settings.feed_topic(sent.agency_id)
        offset = self.feed_offsets.get(topic, 0)
        self.feed_offsets[topic] = offset + 1
        return FeedMessage(
            value=sent.message.value,
            key=sent.message.key,
            headers=tuple(sent.message.headers),
            source=SourceRef(topic=topic, partition=0, offset=offset),
            feed_agency=sent.agency_id,
            received_at=self.at(n),
        )

    def at(self, n: int) -> datetime:
        """The fixed clock: the load's build time plus a millisecond per record."""
        return self.built_at + timedelta(milliseconds=n)

    def correlate(self, accepted: Outbound) -> Step | None:
        """As ``agents.correlate.CorrelateAgent.fold``; the step, when something folded."""
        partition = accepted.partition or 0
        place = Place(accepted.topic, partition)
        record = self.verifier.open(accepted.value, place, (Kind.EVENTS,))
        offset = self.offsets.get(partition, 0)
        self.offsets[partition] = offset + 1
        (item,) = record.items
        event = self.correlator.read(item)
        self.count_sna(Located(partition, offset, record.at, event), Mark(offset, 0, 1))
        token = event.subject_token
        if token is None:
            return None
        stored = self.subjects.get(token)
        state = SubjectState.from_bytes(None if stored is None else value_of(stored).value)
        moment = self.moments.at(partition, record.at, offset)
        folded = self.correlator.fold_event(event, state, moment)
        if folded is None:
            return None
        value = folded.step.state.to_bytes()
        row = Row("subjects", partition, token.encode())
        self.subjects[token] = seal_value(self.internal, row, offset, value)
        return folded.step

    def count_sna(self, seen: Located, mark: Mark) -> None:
        """As ``agents.correlate.CorrelateAgent.count_sna``."""
        counted = tally(seen, mark, self.sna_context, self._sna_body)
        if counted is not None:
            key, value = counted
            row = Row(SNA_TABLE, seen.partition, key)
            self.sna[key] = seal_value(self.internal, row, mark.offset, value.to_bytes())

    def _sna_body(self, key: bytes) -> bytes | None:
        stored = self.sna.get(key)
        return None if stored is None else value_of(stored).value

    def sealed(self, step: Step) -> tuple[list[bytes], list[bytes]]:
        """The step's items as the agent writes them (each alert's ``Pending`` bytes, each
        decision record's JSON), and its outbox records (MACed) and decisions record (signed)."""
        outbox = Place(self.settings.outbox_topic, 0)
        alerts = [p.to_bytes() for p in step.pending]
        found = [seal_record(Kind.ALERTS, self.now, (a,), outbox, self.internal) for a in alerts]
        items = tuple(r.model_dump_json().encode() for r in step.decisions)
        if items:
            place = Place(self.settings.decisions_topic, 0)
            found.append(seal_record(Kind.DECISIONS, self.now, items, place, self.hub_key))
        return [*alerts, *items], found


def _ingest(domain: Domain, messages: list[Sent], first: int, out: Outputs) -> None:
    for n, sent in enumerate(messages, start=first):
        outcome = domain.ingest.process(domain.feed(sent, n), domain.seen)
        for message in outcome.messages:
            out.ingest.append(message.value)
            if message.topic == domain.settings.accepted_topic:
                out.accepted.append(message)


def _correlate(domain: Domain, out: Outputs, first: int) -> None:
    for n in range(first, len(out.accepted)):
        step = domain.correlate(out.accepted[n])
        if step is not None:
            items, _ = domain.sealed(step)  # timed like the agent's sends; digested after
            alerts = len(step.pending)
            out.emitted += [b"P" + item for item in items[:alerts]]
            out.emitted += [b"D" + item for item in items[alerts:]]


def _run(domain: Domain, messages: list[Sent], lag: int, out: Outputs) -> tuple[float, float]:
    """Ingest ``lag`` messages, then correlate what they produced, and so on; CPU seconds each.

    A worker's correlation trails its ingest by a few fetches, never by the whole load.
    """
    ingest_s = correlate_s = 0.0
    for first in range(0, len(messages), lag):
        started = time.process_time()
        done = len(out.accepted)
        _ingest(domain, messages[first : first + lag], first, out)
        ingested = time.process_time()
        _correlate(domain, out, done)
        ingest_s += ingested - started
        correlate_s += time.process_time() - ingested
    return ingest_s, correlate_s


def _digest(domain: Domain, out: Outputs, per_flag: PerFlag) -> tuple[str, dict[str, int]]:
    keyring = Keyring.open(domain.settings.keys_dir)
    keys = {
        r.partnership_id: keyring.hpke_key(partnership_owner(r.partnership_id))
        for r in domain.correlator.dispatcher.recipients
    }
    counts = {"ingest_out": 0, "accepted": len(out.accepted), "pending": 0, "decisions": 0}
    digest = hashlib.sha256()
    for value in out.ingest:
        digest.update(b"in\x00" + value)
        counts["ingest_out"] += 1
    for emitted in out.emitted:
        if emitted.startswith(b"P"):
            pending = Pending.from_bytes(emitted[1:])
            body = keys[pending.partnership_id].open(
                pending.value, alert_info(pending.partnership_id, pending.alert_id)
            )
            digest.update(b"alert\x00" + replace(pending, value=body).to_bytes())
            counts["pending"] += 1
            opened = AlertBody.from_bytes(body)
            per_flag.add(pending.partnership_id, opened.flag_id, opened.kind)
        else:
            digest.update(b"decision\x00" + emitted[1:])
            counts["decisions"] += 1
    for token, value in sorted(domain.subjects.items()):
        digest.update(b"state\x00" + token.encode() + b"\x00" + value_of(value).value)
    return digest.hexdigest(), counts | {"subjects": len(domain.subjects)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--subjects", type=int, default=5_000)
    parser.add_argument(
        "--lag", type=int, default=1000, help="records ingested before correlation catches up"
    )
    parser.add_argument("--profile", action="store_true", help="run under cProfile, print the top")
    parser.add_argument("--top", type=int, default=40, help="functions listed with --profile")
    args = parser.parse_args()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    settings = _settings()
    cached = _load(settings, args.events, args.subjects)
    print(f"load: {cached.describe}")
    domain = Domain(settings, cached.built_at)
    out = Outputs()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    ingest_s, correlate_s = _run(domain, cached.messages, args.lag, out)
    if profiler is not None:
        profiler.disable()
    events = len(cached.messages)
    print(f"ingest    {events:>7} events {ingest_s:7.2f} s CPU {events / ingest_s:10,.0f} events/s")
    print(
        f"correlate {len(out.accepted):>7} events {correlate_s:7.2f} s CPU"
        f" {len(out.accepted) / correlate_s:10,.0f} events/s"
    )
    both = ingest_s + correlate_s
    print(f"both      {events:>7} events {both:7.2f} s CPU {events / both:10,.0f} events/s")
    per_flag = PerFlag()
    digest, counts = _digest(domain, out, per_flag)
    print("outputs:", ", ".join(f"{k}={v}" for k, v in counts.items()))
    print("alerts per flag (outbox records; the sequencer drops repeated alert ids):")
    print("\n".join(per_flag.lines()))
    print(f"digest: {digest}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
