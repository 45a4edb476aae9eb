"""A hub run in-process for replay tests and the replay benchmark: no Kafka, real hub code.

:class:`Simulator` plays the correlate agent's loop (``agents/correlate.py``) over an
in-memory accepted stream of several partitions: switch markers change the agreement sequence
of their partition and re-decide its subjects; ticks re-decide flagged subjects; events and
consent events fold into their subject's state through the real :class:`Correlator`. Every
decision record goes to an in-memory decisions topic exactly as the agent writes it. The
accepted records and agreement messages are kept, so a replay can read what the hub read:
internal records (``hub.crypto.record``) MACed or signed as the hub and governance write them,
with the simulator's own keys (:func:`Simulator.history` trusts them).
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from hub.audit import History, Replayer, StreamRecord
from hub.audit.history import Scope, StreamTrust
from hub.codec import SchemaStore
from hub.config import Settings
from hub.correlate import Correlator
from hub.crypto import HmacKey, SigningKey, create_dev_keyring
from hub.crypto.record import Kind, Place, moment_of, parse
from hub.crypto.trust import RecordVerifier, TrustedKeys, Window, seal_record
from hub.dispatch import Moment, Position, Step, SubjectState
from hub.dsa import (
    Action,
    Agreement,
    AgreementBook,
    Evaluator,
    Party,
    Suspension,
    load_directory,
)
from hub.feeds.synthetic import synth_valid_fields
from hub.geo import AreaLookup
from hub.governance import publication_record, suspension_record, switch_record
from hub.idkey import IdKey
from hub.ids import uuid7
from hub.policy import Switch
from hub.pseudonym import NationalIdentity, linkage_token
from hub.registry import Registry, load_registry
from hub.rules import RuleSet
from hub.runtime import load_correlator
from hub.sequencer import Pending
from tests.unit.consent.builders import consent_body

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 10, 1, tzinfo=UTC)
LSOAS = ("E01016353", "E01016611", "E01028422")  # Reading, Wokingham, Oxfordshire
KEY = HmacKey(b"\x07" * 32)
GOVERNANCE_KEY = SigningKey.from_raw(b"\x09" * 32)
INTERNAL_KEY = HmacKey(b"\x0a" * 32)
AGREEMENTS_TOPIC = "sim.agreements"
ACCEPTED_TOPIC = "sim.accepted"


def trusted() -> TrustedKeys:
    """The keys a replay of the simulator's streams trusts (public and internal)."""
    governance = GOVERNANCE_KEY.verify_key
    return TrustedKeys(
        internal={INTERNAL_KEY.key_id: (INTERNAL_KEY, Window())},
        governance={governance.key_id: (governance, Window())},
    )


EVENTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("police.weapon_possession", "police", {}),
    ("police.violent_incident", "police", {"subject_role": "SUSPECT"}),
    ("police.arrest", "police", {"offence_group": "ROBBERY"}),
    ("voluntary.engagement", "voluntary-sector", {"stage": "DISENGAGED"}),
    ("voluntary.engagement", "voluntary-sector", {"stage": "CLOSED_OTHER"}),
    ("csc.missing_episode", "childrens-social-care", {}),
    ("csc.exploitation_screening", "childrens-social-care", {"exploitation_type": "CRIMINAL"}),
    ("education.suspension", "education", {}),
)


def token(n: int) -> str:
    """A well-formed linkage token for subject ``n``."""
    return linkage_token(NationalIdentity("sim", str(n)), KEY).text


#: The simulator's three LSOAs and their councils (ONS UTLA codes), for a clone without
#: ``../shared/data``: the real lookup is used when it is there.
LSOA_COUNCILS = (("E01016353", "E06000038"), ("E01016611", "E06000041"), ("E01028422", "E10000025"))


def _data_dir(scratch: Path) -> Path:
    shared = ROOT.parent / "shared" / "data"
    if (shared / "geo").is_dir():
        return shared
    geo = scratch / "sim-data" / "geo"
    geo.mkdir(parents=True, exist_ok=True)
    rows = ["LSOA21CD,LSOA21NM,LADCD_ACTIVE,LADNM_ACTIVE,UTLACD,UTLANM"]
    rows += [
        f"{lsoa},{lsoa},{council},{council},{council},{council}" for lsoa, council in LSOA_COUNCILS
    ]
    (geo / "sim_lookup.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return geo.parent


def world(keys: Path) -> tuple[Correlator, Registry, list[Agreement]]:
    """The shipped rules, registry and agreements, with a dev keyring under ``keys``."""
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    keyring = create_dev_keyring(keys, registry, T0)
    settings = Settings(
        deploy_dir=ROOT / "deploy",
        schemas_dir=ROOT / "schemas",
        keys_dir=keys,
        data_dir=_data_dir(keys.parent),
    )
    agreements = [a for _, a in load_directory(ROOT / "deploy" / "agreements").agreements]
    return load_correlator(settings, registry, keyring), registry, agreements


@dataclass
class Simulator:
    """The correlate agent's loop over in-memory partitions."""

    correlator: Correlator
    registry: Registry
    partitions: int = 4
    step_ms: int = 20_000
    agreements: list[bytes] = field(default_factory=list)
    accepted: list[StreamRecord] = field(default_factory=list)
    decisions: list[bytes] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    states: dict[str, SubjectState] = field(default_factory=dict)
    book: AgreementBook = field(default_factory=AgreementBook)
    clock_ms: int = int(T0.timestamp() * 1000)

    def __post_init__(self) -> None:
        self._offsets = [0] * self.partitions
        self._sequences = [0] * self.partitions
        self._evaluators: dict[int, Evaluator] = {}

    @property
    def store(self) -> SchemaStore:
        """The schemas events are encoded with."""
        return self.correlator.store

    def partition_of(self, subject: str) -> int:
        """The subject's partition (any fixed function of the key will do here)."""
        return int.from_bytes(hashlib.sha256(subject.encode()).digest()[:4]) % self.partitions

    def history(self) -> History:
        """A replay's index of what the simulated hub read (every record verified)."""
        trust = StreamTrust(RecordVerifier(trusted()), AGREEMENTS_TOPIC, ACCEPTED_TOPIC)
        history = History(self.store, self.agreements, trust)
        for record in self.accepted:
            history.add(record)
        return history

    def source(self) -> ReplaySource:
        """What a replay worker process rebuilds this history's replayer from."""
        dispatcher = self.correlator.dispatcher
        return ReplaySource(
            tuple(self.agreements),
            tuple(self.accepted),
            dispatcher.rules,
            self.registry,
            self.correlator.areas,
            dispatcher.id_keys(),
        )

    def publish(self, agreements: list[Agreement]) -> None:
        """Publish new versions on the agreements topic, then a marker in every partition."""
        published_at = datetime.fromtimestamp(self.clock_ms / 1000, UTC)
        place = Place(AGREEMENTS_TOPIC, 0)
        for agreement in agreements:
            sequence = self.book.last_sequence + 1
            value = publication_record(agreement, sequence, published_at, place, GOVERNANCE_KEY)
            self.book = self.book.apply(parse(value).items[0])
            self.agreements.append(value)
        self._switch_all()

    def _switch_all(self) -> None:
        marker = Switch(self.book.last_sequence)
        for partition in range(self.partitions):
            record = self._append(partition, Kind.SWITCH, b"__policy__", (marker.to_bytes(),))
            self._sequences[partition] = max(self._sequences[partition], marker.sequence)
            self._rescan(record, flagged_only=False)

    def suspend(self, party: Party, party_id: str, action: Action) -> None:
        """Publish a suspend or resume record, then a marker in every partition."""
        published_at = datetime.fromtimestamp(self.clock_ms / 1000, UTC)
        record = Suspension(
            party=party,
            party_id=party_id,
            action=action,
            reason="breach_investigation",
            sequence=self.book.last_sequence + 1,
            published_at=published_at,
        )
        value = suspension_record(record, Place(AGREEMENTS_TOPIC, 0), GOVERNANCE_KEY)
        self.book = self.book.apply(record)
        self.agreements.append(value)
        self._switch_all()

    def tick(self, partition: int) -> None:
        """A clock tick: flagged subjects of the partition are re-decided."""
        self._rescan(self._append(partition, Kind.TICK, b"__tick__", ()), True)

    def send(self, subject: str, value: bytes) -> None:
        """An accepted event (or consent event) about ``subject``, folded like the agent does."""
        record = self._append(self.partition_of(subject), Kind.EVENTS, subject.encode(), (value,))
        state = self.states.get(subject, SubjectState())
        folded = self.correlator.fold(value, state, self._moment(record))
        if folded is not None:
            self.states[folded.token] = folded.step.state
            self._emit(folded.step)

    def _append(
        self, partition: int, kind: Kind, key: bytes, items: tuple[bytes, ...]
    ) -> StreamRecord:
        """One accepted record, authenticated as the hub (or governance, for a marker) does."""
        self.clock_ms += self.step_ms
        place = Place(ACCEPTED_TOPIC, partition)
        at = moment_of(self.clock_ms)
        value = (
            switch_record(Switch.from_bytes(items[0]), at, place, GOVERNANCE_KEY)
            if kind is Kind.SWITCH
            else seal_record(kind, at, items, place, INTERNAL_KEY)
        )
        offset = self._offsets[partition]
        record = StreamRecord(partition, offset, self.clock_ms, kind.value, key, value)
        self._offsets[partition] += 1
        self.accepted.append(record)
        return record

    def _moment(self, record: StreamRecord) -> Moment:
        sequence = self._sequences[record.partition]
        evaluator = self._evaluators.get(sequence)
        if evaluator is None:
            evaluator = Evaluator(self.book.up_to(sequence), self.registry)
            self._evaluators[sequence] = evaluator
        position = Position(partition=record.partition, offset=record.offset)
        return Moment(moment_of(record.timestamp_ms), evaluator, sequence, position=position)

    def _rescan(self, record: StreamRecord, flagged_only: bool) -> None:
        for subject, state in list(self.states.items()):
            if self.partition_of(subject) != record.partition or (flagged_only and not state.sent):
                continue
            step = self.correlator.rescan(subject, state, self._moment(record))
            if step.pending or step.state != state:  # as agents/correlate.py emits
                self.states[subject] = step.state
                self._emit(step)

    def _emit(self, step: Step) -> None:
        self.decisions += [r.model_dump_json().encode() for r in step.decisions]
        self.pending += step.pending

    @property
    def at(self) -> datetime:
        """The stream's clock."""
        return datetime.fromtimestamp(self.clock_ms / 1000, UTC)


def event(store: SchemaStore, subject: str, kind: int, at: datetime, seed: int) -> bytes:
    """Encoded accepted event number ``seed`` of type ``EVENTS[kind]`` about ``subject``."""
    event_type, agency, fields = EVENTS[kind]
    rng = random.Random(seed)  # reproducible synthetic data, not a secret
    occurred = at - timedelta(days=rng.randrange(0, 12), minutes=rng.randrange(1, 600))
    envelope = {
        "event_id": uuid7(occurred, seed=f"sim|{seed}".encode()),
        "agency_id": agency,
        "occurred_at": occurred,
        "recorded_at": occurred + timedelta(minutes=5),
        "subject_token": subject,
        "lsoa": LSOAS[seed % len(LSOAS)] if seed % 5 else LSOAS[0],
        "age": 12 + seed % 6,
        "key_id": "k",
    }
    body = synth_valid_fields(event_type, store.schema(event_type), rng, occurred)
    return store.encode(event_type, {"envelope": envelope, **body, **fields})


def consent(
    store: SchemaStore, subject: str, consent_id: str, at: datetime, *, given: bool
) -> bytes:
    """An encoded consent.given or consent.withdrawn from the voluntary sector."""
    event_type = "consent.given" if given else "consent.withdrawn"
    envelope = {
        "event_id": uuid7(at, seed=f"{event_type}|{consent_id}".encode()),
        "agency_id": "voluntary-sector",
        "occurred_at": at - timedelta(minutes=1),
        "recorded_at": at - timedelta(minutes=1),
        "subject_token": subject,
        "lsoa": LSOAS[0],
        "age": 15,
        "key_id": "k",
    }
    body = consent_body(event_type, consent_id)
    return store.encode(event_type, {"envelope": envelope, **body})


@dataclass(frozen=True)
class ReplaySource:
    """A simulator's streams and id keys: picklable, and a replayer of them when called
    (what :func:`hub.audit.shard.replay_sharded` gives each worker process)."""

    agreements: tuple[bytes, ...]
    accepted: tuple[StreamRecord, ...]
    rules: RuleSet
    registry: Registry
    areas: AreaLookup
    id_keys: Mapping[str, IdKey]
    fast: bool = True
    """Whether the replayer takes its fast lane (:mod:`hub.audit.lane`)."""

    def __call__(self) -> Replayer:
        return self.scoped(None)

    def scoped(self, scope: Scope | None) -> Replayer:
        """A replayer whose history indexes the partitions ``scope`` keeps (all: None)."""
        store = _schemas()
        trust = StreamTrust(RecordVerifier(trusted()), AGREEMENTS_TOPIC, ACCEPTED_TOPIC)
        history = History(store, self.agreements, trust, scope)
        for record in self.accepted:
            history.add(record)
        return Replayer(
            history, self.rules, self.registry, self.areas, self.id_keys, fast=self.fast
        )


@functools.cache
def _schemas() -> SchemaStore:
    """The shipped schemas, loaded once per process (a store is immutable once built; the
    only argument-free entry, so one value); a replayer of a source used to load them each."""
    return SchemaStore.load(ROOT / "schemas")


def simulated(keys: Path, decisions: int) -> Simulator:
    """A simulator over :func:`world` (development keys made in ``keys``) that has recorded
    ``decisions`` decisions (:func:`generate`)."""
    correlator, registry, agreements = world(keys)
    sim = Simulator(correlator, registry)
    generate(sim, agreements, decisions)
    return sim


def generate(sim: Simulator, agreements: list[Agreement], decisions: int, seed: int = 7) -> None:
    """Run ``sim`` until it has recorded ``decisions`` decisions.

    Subjects come and go (eight events each); about one in three gives consent to the
    voluntary sector early, and many withdraw it later. Police's current agreement version is
    published a quarter of the way through, with switch markers in every partition; the
    Reading partnership is suspended at 60% and resumed at 70%.
    """
    rng = random.Random(seed)  # reproducible synthetic data, not a secret
    held_back = [a for a in agreements if a.ref == "tv-police-svd@2"]
    sim.publish([a for a in agreements if a not in held_back])
    live: dict[str, tuple[int, str | None, int]] = {}  # subject -> (events, consent, number)
    serial = 0
    done: set[Action] = set()
    while len(sim.decisions) < decisions:
        serial += 1
        if held_back and len(sim.decisions) >= decisions // 4:
            sim.publish(held_back)
            held_back = []
        for share, action in ((0.6, Action.SUSPEND), (0.7, Action.RESUME)):
            if len(sim.decisions) >= decisions * share and action not in done:
                sim.suspend(Party.PARTNERSHIP, "reading", action)
                done.add(action)
        if len(live) < 40:
            number = serial
            live[token(number)] = (0, None, number)
        subject = rng.choice(sorted(live))
        count, given, number = live[subject]
        roll = rng.random()
        if given is None and number % 3 == 0 and roll < 0.5:
            given = f"c-{number}-{serial}"
            sim.send(subject, consent(sim.store, subject, given, sim.at, given=True))
        elif given is not None and count >= 3 and roll < 0.2:
            sim.send(subject, consent(sim.store, subject, given, sim.at, given=False))
            given = None
        elif roll < 0.15:
            sim.tick(sim.partition_of(subject))
        else:
            kind = rng.randrange(len(EVENTS))
            sim.send(subject, event(sim.store, subject, kind, sim.at, serial))
            count += 1
        live[subject] = (count, given, number)
        if count >= 8:
            del live[subject]


_T = TypeVar("_T")
PER_SIMULATOR_MAX = 4
"""How many simulators a :func:`per_simulator` memo keeps values for (then it starts again)."""


def per_simulator(build: Callable[[Simulator], _T]) -> Callable[[Simulator], _T]:
    """``build`` (a pure function of a simulator, whose value its callers only read) run once
    per simulator: a test module's searches of a history it shares with other tests. The
    memo holds the simulator, so that its id is not another's, and at most
    :data:`PER_SIMULATOR_MAX` of them."""
    kept: dict[int, tuple[Simulator, _T]] = {}

    @functools.wraps(build)
    def once(sim: Simulator) -> _T:
        found = kept.get(id(sim))
        if found is None or found[0] is not sim:
            if len(kept) >= PER_SIMULATOR_MAX:
                kept.clear()
            found = kept[id(sim)] = (sim, build(sim))
        return found[1]

    return once
