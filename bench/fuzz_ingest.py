"""A long fuzzing run against the whole ingest step; prints counts, asserts nothing about time.

Run: ``.venv/bin/python -m bench.fuzz_ingest --count 1000000 [--seed N] [--json FILE]``.
Not a ``bench_*`` module, so ``make bench`` does not run it; the unit test
``tests/unit/ingest/test_ingest_fuzz.py`` keeps a short form in ``make test``.

Inputs come from seeded generators, each a kind of hostile feed message:

* ``arbitrary``: random bytes, with or without a random seal;
* ``marked``: the single-object marker ``C3 01`` and random bytes;
* ``fingerprinted``: the marker, a real writer fingerprint, then random bytes (reaches Avro);
* ``mutated_event`` / ``mutated_seal`` / ``mutated_both``: a sealed valid event with bit flips,
  truncations, insertions, deletions and overwrites in the event, its seal, or both;
* ``hostile_record``: a valid record re-encoded and properly sealed with one envelope value
  made hostile (time far in the future or past, an epoch date, an area outside the hub, another
  agency, an unknown key id, long or odd strings);
* ``wrong_feed``: a valid sealed event on another agency's feed;
* ``replayed``: a valid sealed event at a second feed position (an agency's duplicate);
* ``oversized``: 64 KiB to 900 KiB of bytes behind a real fingerprint.

A *crash* is an exception out of ``Ingest.process``, an outcome outside the closed reason list,
an ``internal_error``, a quarantine record that does not parse back or does not keep the input,
or an input accepted that must not be (any mutation of the event bytes, any hostile record).
The run exits 1 when there was any crash.

**Comparing two trees.** ``--corpus DIR`` makes the run's keyring, sample data, valid events
and clock once, in ``DIR``, and reuses them on every later run; ingest's clock is the corpus's
time, so the same seed gives the same inputs and, for the same code, the same outcomes. The
run prints a digest of every outcome in order (status, reason, error and its detail, event id
and index, every message written, quarantine records without their ``quarantined_at``), and
``--outcomes FILE`` writes them one line an input, to ``diff``. To compare a change with a
base, run this file from either tree with the other's code first on the path::

    PYTHONPATH=/tmp/base python bench/fuzz_ingest.py --corpus /tmp/fz --outcomes base.txt
    PYTHONPATH=.         python bench/fuzz_ingest.py --corpus /tmp/fz --outcomes mine.txt
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.agency import AgencyClient, agency_keys, draft_of
from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import Keyring, agency_owner, create_dev_keyring, seal_batch
from hub.crypto.batch import BATCH_ID_SIZE
from hub.feeds.agencies import partner_events
from hub.feeds.police import police_events
from hub.feeds.sample import write_sample_data
from hub.geo import AreaLookup
from hub.ingest import SEAL_HEADER, FeedMessage, Ingest
from hub.quarantine import REASONS, QuarantineRecord, SourceRef
from hub.registry import load_registry
from hub.runtime import load_ingest_context
from tests.fuzzing import mutate

ROOT = Path(__file__).resolve().parent.parent
#: faust's default producer_max_request_size: a larger quarantine record could not be sent.
MAX_RECORD_BYTES = 1_000_000
#: In a ``--corpus`` directory: the corpus's time and its valid events (agency, bytes, seal).
CORPUS_FILE = "corpus.json"


@dataclass(frozen=True, slots=True)
class Input:
    """One fuzz input: the feed it arrives on, its bytes and seal, and whether it may pass."""

    agency: str
    value: bytes
    seal: bytes | None
    may_accept: bool = False
    seen: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Valid:
    """A sealed valid event and what it was made from."""

    agency: str
    value: bytes
    seal: bytes
    event_type: str
    record: dict[str, Any]


class Corpus:
    """The ingest step under test and the valid events the generators start from.

    Made in ``work`` (keyring, sample data, and ``corpus.json``: the time and the valid
    events); when ``work`` already holds a corpus, that one is read back, so that runs in
    two trees meet the same keys, inputs and clock.
    """

    def __init__(self, work: Path) -> None:
        registry = load_registry(ROOT / "deploy" / "registry.yaml")
        saved = work / CORPUS_FILE
        made = not saved.exists()
        if made:
            self.now = datetime.now(UTC).replace(microsecond=0)
            create_dev_keyring(work / "keys", registry, self.now)
            write_sample_data(work / "data", registry, rows=300)
        else:
            kept = json.loads(saved.read_text(encoding="utf-8"))
            self.now = datetime.fromisoformat(kept["now"])
        self.settings = Settings(
            deploy_dir=ROOT / "deploy",
            schemas_dir=ROOT / "schemas",
            keys_dir=work / "keys",
            data_dir=work / "data",
        )
        self.store = SchemaStore.load(self.settings.schemas_dir)
        # Ingest judges times against the corpus's clock, not the wall's: outcomes repeat.
        context = load_ingest_context(self.settings)
        self.ingest = Ingest(dataclasses.replace(context, clock=lambda: self.now))
        self.keyring = Keyring.open(self.settings.keys_dir)
        self.agencies = sorted(a.id for a in registry.agencies)
        if made:
            self.valid = self._valid(self.settings.data_dir, registry)
            saved.write_text(json.dumps(self._kept()), encoding="utf-8")
        else:
            self.valid = [self._read(*v) for v in kept["valid"]]
        self.fingerprints = [
            self.store.fingerprint(t, v)
            for t in sorted(self.store.event_types)
            for v in self.store.versions(t)
        ]

    def _kept(self) -> dict[str, Any]:
        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode()

        valid = [[v.agency, b64(v.value), b64(v.seal)] for v in self.valid]
        return {"now": self.now.isoformat(), "valid": valid}

    def _read(self, agency: str, value: str, seal: str) -> Valid:
        raw = base64.b64decode(value)
        decoded = self.store.decode(raw)
        return Valid(agency, raw, base64.b64decode(seal), decoded.event_type, decoded.record)

    def _valid(self, data: Path, registry: Any) -> list[Valid]:
        areas = AreaLookup.from_data_dir(data)
        # The sample month replayed 100 days ago, whatever the date: a valid event must stay
        # younger than ingest's ten-year bound, and partner events follow up to 60 days later.
        month = self.now - timedelta(days=100)
        csv = next((data / "police").glob("*.csv"))
        police = list(police_events(csv, areas, self.store, rebase_to=month))
        events = police[:60] + list(partner_events(police[:60], registry, self.store))
        out = []
        for agency in sorted({e.agency_id for e in events}):
            client = AgencyClient(agency_keys(self.keyring, agency), self.store)
            for m in client.messages([draft_of(e) for e in events if e.agency_id == agency]):
                decoded = self.store.decode(m.value)
                seal = dict(m.headers)[SEAL_HEADER]
                out.append(Valid(agency, m.value, seal, decoded.event_type, decoded.record))
        return out

    def seal(self, agency: str, event_type: str, record: dict[str, Any]) -> tuple[bytes, bytes]:
        """Encode ``record`` and seal it as a batch of one with the agency's key."""
        key = self.keyring.signing_key(agency_owner(agency))
        value = self.store.encode(event_type, record)
        # The batch id from the bytes, not at random: the same input on every run.
        batch_id = hashlib.sha256(value).digest()[:BATCH_ID_SIZE]
        return value, seal_batch([value], key, agency, batch_id=batch_id)[0].to_bytes()


def _arbitrary(c: Corpus, rng: random.Random) -> Input:
    seal = rng.randbytes(rng.randint(0, 300)) if rng.random() < 0.5 else None
    return Input(rng.choice(c.agencies), rng.randbytes(rng.randint(0, 400)), seal)


def _marked(c: Corpus, rng: random.Random) -> Input:
    return Input("police", b"\xc3\x01" + rng.randbytes(rng.randint(0, 300)), None)


def _fingerprinted(c: Corpus, rng: random.Random) -> Input:
    v = rng.choice(c.valid)
    body = b"\xc3\x01" + rng.choice(c.fingerprints) + rng.randbytes(rng.randint(0, 400))
    return Input(v.agency, body, v.seal)


def _mutated(which: str) -> Callable[[Corpus, random.Random], Input]:
    def generate(c: Corpus, rng: random.Random) -> Input:
        v = rng.choice(c.valid)
        value = mutate(v.value, rng) if which != "seal" else v.value
        seal = mutate(v.seal, rng) if which != "event" else v.seal
        # A mutated seal around an untouched event may still verify (e.g. trailing bytes the
        # seal codec ignores would be a defect, but an identical mutation result is not).
        return Input(v.agency, value, seal, may_accept=value == v.value)

    return generate


def _hostile_envelope(rng: random.Random, envelope: dict[str, Any], now: datetime) -> None:
    choice = rng.randrange(9)
    if choice == 0:
        envelope["recorded_at"] = now + timedelta(days=rng.randint(1, 40_000))
    elif choice == 1:
        envelope["occurred_at"] = datetime(1970, 1, 1, tzinfo=UTC)
    elif choice == 2:
        envelope["occurred_at"] = now - timedelta(days=rng.randint(3700, 60_000))
    elif choice == 3:
        envelope["lsoa"] = rng.choice(("E01000001", "W01000001", "S01000001", "E0101635"))
    elif choice == 4:
        envelope["agency_id"] = rng.choice(("police", "ghost-agency", "Police", ""))
    elif choice == 5:
        envelope["key_id"] = rng.choice(("", "x" * 300, "other-key", "police/ed25519/0000"))
    elif choice == 6:
        envelope["event_id"] = rng.choice(("", "not-a-uuid", "0" * 36, "\u00e9" * 36))
    elif choice == 7:
        envelope["age"] = rng.choice((-1, 121, 2**31 - 1, -(2**31)))
    else:
        envelope["subject_token"] = rng.choice(("", "lt1:" + "0" * 300, "\x00" * 72))


def _hostile_fields(rng: random.Random, record: dict[str, Any]) -> bool:
    """Make one string or array field of ``record`` oversized; False if it has none."""
    names = [k for k, v in record.items() if k != "envelope" and isinstance(v, str | list)]
    if not names:
        return False
    name = rng.choice(names)
    if isinstance(record[name], str):
        record[name] = "x" * rng.randint(2_001, 700_000)
    else:
        record[name] = record[name][:1] * rng.randint(101, 5_000)
    return bool(record[name])


def _hostile_record(c: Corpus, rng: random.Random) -> Input:
    v = rng.choice(c.valid)
    record = dict(v.record)
    envelope = dict(v.record["envelope"])
    original = dict(envelope)
    if rng.random() < 0.9 or not _hostile_fields(rng, record):
        _hostile_envelope(rng, envelope, c.now)
    else:
        original = {}  # an oversized field is never acceptable
    try:
        value, seal = c.seal(v.agency, v.event_type, {**record, "envelope": envelope})
    except Exception:  # noqa: BLE001  # the hostile value does not even encode: send it mangled
        return Input(v.agency, mutate(v.value, rng), v.seal)
    # Re-choosing the agency's own id, or a value equal to the original, leaves a valid event.
    return Input(v.agency, value, seal, may_accept=envelope == original)


def _wrong_feed(c: Corpus, rng: random.Random) -> Input:
    v = rng.choice(c.valid)
    return Input(rng.choice([a for a in c.agencies if a != v.agency]), v.value, v.seal)


def _replayed(c: Corpus, rng: random.Random) -> Input:
    v = rng.choice(c.valid)
    decoded = c.store.decode(v.value)
    seen = {decoded.record["envelope"]["event_id"]: f"{c.settings.feed_topic(v.agency)}:1:0"}
    return Input(v.agency, v.value, v.seal, seen=seen)


def _oversized(c: Corpus, rng: random.Random) -> Input:
    size = rng.randint(64 * 1024, 900 * 1024)
    return Input("police", b"\xc3\x01" + rng.choice(c.fingerprints) + rng.randbytes(size), None)


#: (name, generator, share of inputs out of 1000).
GENERATORS: tuple[tuple[str, Callable[[Corpus, random.Random], Input], int], ...] = (
    ("arbitrary", _arbitrary, 200),
    ("marked", _marked, 100),
    ("fingerprinted", _fingerprinted, 150),
    ("mutated_event", _mutated("event"), 150),
    ("mutated_seal", _mutated("seal"), 120),
    ("mutated_both", _mutated("both"), 100),
    ("hostile_record", _hostile_record, 140),
    ("wrong_feed", _wrong_feed, 20),
    ("replayed", _replayed, 19),
    ("oversized", _oversized, 1),
)


@dataclass(slots=True)
class Tally:
    """What the run found."""

    inputs: int = 0
    omitted: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    by_generator: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)
    accepted_from: Counter[str] = field(default_factory=Counter)
    first_crashes: list[str] = field(default_factory=list)
    lines: list[str] | None = None
    """Each input's outcome line, when asked for (``--outcomes``)."""
    digest: Any = field(default_factory=hashlib.sha256)
    """Of every outcome line, in order."""

    def outcome(self, line: str) -> None:
        """Add one input's outcome line to the digest (and the lines, when kept)."""
        self.digest.update(line.encode() + b"\n")
        if self.lines is not None:
            self.lines.append(line)

    def crash(self, generator: str, what: str) -> None:
        self.crashes[f"{generator}: {what.splitlines()[-1][:120]}"] += 1
        if len(self.first_crashes) < 5:
            self.first_crashes.append(f"[{generator}] {what}")


def check(c: Corpus, name: str, item: Input, offset: int, tally: Tally) -> None:
    """Run one input through ingest and record its outcome or why it is a crash."""
    headers = () if item.seal is None else ((SEAL_HEADER, item.seal),)
    source = SourceRef(topic=c.settings.feed_topic(item.agency), partition=0, offset=offset)
    message = FeedMessage(item.value, None, headers, source, item.agency)
    try:
        outcome = c.ingest.process(message, {} if item.seen is None else dict(item.seen))
    except Exception:  # noqa: BLE001  # that is what the run looks for
        tally.crash(name, traceback.format_exc())
        tally.outcome(f"{offset} {name} raised {traceback.format_exc().splitlines()[-1]}")
        return
    tally.outcome(outcome_line(c, offset, name, outcome))
    tally.reasons[outcome.reason] += 1
    if outcome.status == "accepted":
        tally.accepted_from[name] += 1
        if not item.may_accept:
            tally.crash(name, "accepted an input that must be refused")
        return
    if outcome.reason not in REASONS or outcome.reason == "internal_error":
        tally.crash(name, f"reason {outcome.reason}: {outcome.error}")
        return
    record = QuarantineRecord.from_bytes(outcome.messages[0].value)
    tally.omitted += record.original_omitted
    kept = record.original_sha256 if record.original_omitted else record.original
    wanted = hashlib.sha256(item.value).hexdigest() if record.original_omitted else item.value
    if kept != wanted or record.reason != outcome.reason:
        tally.crash(name, "quarantine record does not keep the input or its reason")
    if len(outcome.messages[0].value) > MAX_RECORD_BYTES:
        tally.crash(name, "quarantine record larger than the producer's request limit")


def outcome_line(c: Corpus, offset: int, name: str, outcome: Any) -> str:
    """One input's outcome as a line: equal lines mean ingest decided and wrote the same.

    Every message written counts by its topic, key, headers and value, but a quarantine
    record's ``quarantined_at`` (the wall clock's, not ingest's) is left out.
    """
    written = []
    for m in outcome.messages:
        value = m.value
        if m.topic == c.settings.quarantine_topic:
            fields = QuarantineRecord.from_bytes(value).model_dump(mode="json")
            fields.pop("quarantined_at")
            value = json.dumps(fields, sort_keys=True).encode()
        kept = (m.topic, m.key, tuple(m.headers), value, m.partition)
        written.append(hashlib.sha256(repr(kept).encode()).hexdigest()[:16])
    said = (outcome.status, outcome.reason, outcome.event_id, outcome.index, outcome.error)
    return f"{offset} {name} {said!r} {' '.join(written)}"


def run(
    count: int, seed: int, progress: bool, *, corpus: Path | None = None, lines: bool = False
) -> tuple[Tally, float]:
    """Fuzz ``count`` inputs; returns the tally and the seconds spent fuzzing.

    ``corpus``: a directory to make the corpus in, or read it from (else a temporary one);
    ``lines``: keep each input's outcome line in the tally.
    """
    with tempfile.TemporaryDirectory(prefix="fuzz-ingest-") as work:
        where = Path(work) if corpus is None else corpus
        where.mkdir(parents=True, exist_ok=True)
        made = Corpus(where)
        rng = random.Random(seed)  # noqa: S311  # reproducible fuzzing, not security
        names = [name for name, _, _ in GENERATORS]
        weights = [share for _, _, share in GENERATORS]
        makers = {name: make for name, make, _ in GENERATORS}
        tally = Tally(lines=[] if lines else None)
        started = time.perf_counter()
        for n in range(count):
            name = rng.choices(names, weights)[0]
            tally.by_generator[name] += 1
            check(made, name, makers[name](made, rng), n, tally)
            tally.inputs += 1
            if progress and n and n % 100_000 == 0:
                rate = n / (time.perf_counter() - started)
                print(f"  {n:,} inputs, {rate:,.0f}/s", file=sys.stderr, flush=True)
        return tally, time.perf_counter() - started


def main() -> None:
    """Parse arguments, fuzz, print a table and optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--corpus", type=Path, default=None, help="make the corpus here, or reuse the one here"
    )
    parser.add_argument(
        "--outcomes", type=Path, default=None, help="write each input's outcome line here"
    )
    args = parser.parse_args()
    tally, seconds = run(
        args.count, args.seed, progress=True, corpus=args.corpus, lines=args.outcomes is not None
    )
    if args.outcomes is not None and tally.lines is not None:
        args.outcomes.write_text("".join(f"{line}\n" for line in tally.lines), encoding="utf-8")
    crashes = sum(tally.crashes.values())
    figures = {
        "inputs": tally.inputs,
        "seconds": round(seconds, 1),
        "inputs_per_s": round(tally.inputs / seconds),
        "crashes": crashes,
        "quarantined_without_bytes": tally.omitted,
        "outcomes": dict(tally.reasons.most_common()),
        "generators": dict(tally.by_generator.most_common()),
        "accepted_from": dict(tally.accepted_from.most_common()),
        "crash_kinds": dict(tally.crashes),
        "seed": args.seed,
        "outcomes_digest": tally.digest.hexdigest(),
    }
    print(f"fuzz_ingest: {tally.inputs:,} inputs in {seconds:.1f}s ({figures['inputs_per_s']:,}/s)")
    print(f"  crashes: {crashes}; quarantined without their bytes (too large): {tally.omitted}")
    for reason, n in tally.reasons.most_common():
        print(f"  {reason:<18} {n:>9,}  {100 * n / tally.inputs:6.2f}%")
    print(f"  accepted, by generator: {dict(tally.accepted_from.most_common())}")
    made = "a fresh corpus" if args.corpus is None else f"the corpus in {args.corpus}"
    print(f"outcomes digest: {tally.digest.hexdigest()} (seed {args.seed}, {made})")
    for text in tally.first_crashes:
        print(text)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if crashes:
        sys.exit(1)


if __name__ == "__main__":
    main()
