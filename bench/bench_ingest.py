"""Events/s through the pure ingest path on one core; prints figures, asserts nothing.

Run: ``.venv/bin/python -m bench.bench_ingest [--events N]``. Times are CPU seconds of the process.

Events are made by the agency SDK (police replay-like drafts over every agency's event types,
~200 bytes each) and sealed in batches of 1, 64 and 256. Two paths are timed per batch size:

* ``decode+verify+validate``: ``SchemaStore.decode``, ``SealVerifier.verify`` (Ed25519 once
  per batch, Merkle proof per event), ``validate_event``;
* ``Ingest.process``: the whole ingest step (adds provenance, area lookup, de-duplication and
  routing to the accepted and alert topics), as the worker calls it, without Kafka;
* ``Ingest.process_record``: the same step as the worker now calls it, once per feed record:
  single-event records, then batch records (one Kafka record per sealed batch, one accepted
  record per destination partition), with the de-duplication rows sealed as the worker's
  table seals them (``hub.seen``: one row per feed record). It also prints the rows (hence
  changelog records) written per event.
"""

from __future__ import annotations

import argparse
import functools
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.agency import AgencyClient, EventDraft, FeedMessage, agency_keys
from hub.agency.client import Batch
from hub.codec import SchemaStore
from hub.config import Settings, load_settings
from hub.crypto import HmacKey, Keyring, SealVerifier, agency_owner, create_dev_keyring
from hub.crypto.tablevalue import Row, seal_value, value_of
from hub.feeds.synthetic import synth_valid_fields
from hub.geo import AreaLookup
from hub.ingest import FeedMessage as IngestMessage
from hub.ingest import Ingest
from hub.models import validate_event
from hub.pseudonym import PersonIdentity
from hub.quarantine import SourceRef
from hub.registry import Registry, load_registry
from hub.runtime import load_ingest_context
from hub.seen import SeenEvents

ROOT = Path(__file__).resolve().parent.parent
BATCH_SIZES = (1, 64, 256)
AGENCY = "police"


def drafts(store: SchemaStore, areas: AreaLookup, registry: Registry, n: int) -> list[EventDraft]:
    """``n`` police drafts in real LSOAs of every partnership, with invented people."""
    rng = random.Random(7)  # noqa: S311  # reproducible synthetic data, not security
    lsoas = [
        lsoa for p in registry.partnerships for c in p.councils for lsoa in areas.lsoas(c)[:20]
    ]
    types = sorted(next(a for a in registry.agencies if a.id == AGENCY).event_types)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        event_type = types[i % len(types)]
        when = start + timedelta(minutes=i)
        person = PersonIdentity(f"Given{i % 500}", f"Family{i % 300}", "2008-05-17", "RG1 1AA")
        fields = synth_valid_fields(event_type, store.schema(event_type), rng, when)
        out.append(EventDraft(event_type, when, rng.choice(lsoas), f"b{i}", person, fields))
    return out


def rate(label: str, count: int, run: Callable[[], None]) -> None:
    started = time.process_time()  # CPU seconds: the shared machine's load does not count
    run()
    elapsed = time.process_time() - started
    print(f"{label:<48} {elapsed / count * 1e6:8.1f} µs/event {count / elapsed:10,.0f} events/s")


def pure_path(store: SchemaStore, verifier: SealVerifier, messages: list[FeedMessage]) -> None:
    for m in messages:
        decoded = store.decode(m.value)
        verifier.verify(m.value, m.seal)
        validate_event(decoded)


def whole_step(ingest: Ingest, topic: str, messages: list[FeedMessage]) -> None:
    seen: dict[str, str] = {}
    for offset, m in enumerate(messages):
        source = SourceRef(topic=topic, partition=0, offset=offset)
        message = IngestMessage(m.value, m.key, tuple(m.headers), source, AGENCY)
        outcome = ingest.process(message, seen)
        if outcome.status != "accepted":
            raise SystemExit(f"unexpected {outcome.reason} at {offset}")


class SealedDict(dict[str, str]):
    """De-duplication rows sealed as ``agents.tables.SealedRows`` seals them; counts writes."""

    def __init__(self, key: HmacKey) -> None:
        super().__init__()
        self._key = key
        self._sealed: dict[bytes, bytes] = {}
        self.writes = 0

    def __setitem__(self, row: str, value: str) -> None:
        place = Row("seen-events", 0, row.encode())
        self._sealed[place.key] = seal_value(self._key, place, 0, value.encode())
        self.writes += 1
        super().__setitem__(row, value_of(self._sealed[place.key]).value.decode())


def per_record(
    ingest: Ingest, topic: str, records: list[FeedMessage], rows: SealedDict, events: int
) -> None:
    seen = SeenEvents(rows)
    accepted = 0
    for offset, m in enumerate(records):
        source = SourceRef(topic=topic, partition=0, offset=offset)
        message = IngestMessage(m.value, m.key, tuple(m.headers), source, AGENCY)
        accepted += ingest.process_record(message, seen).accepted
    if accepted != events:
        raise SystemExit(f"accepted {accepted} of {events}")


def record_step(settings: Settings, label: str, records: list[FeedMessage], events: int) -> None:
    ingest = Ingest(load_ingest_context(settings))
    rows = SealedDict(load_ingest_context(settings).internal_key)
    topic = settings.feed_topic(AGENCY)
    rate(label, events, functools.partial(per_record, ingest, topic, records, rows, events))
    print(
        f"{'':<4}{len(records)} Kafka records, {rows.writes} seen-events rows (changelog records)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_480)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            deploy_dir=ROOT / "deploy", schemas_dir=ROOT / "schemas", keys_dir=Path(tmp) / "keys"
        )
        registry = load_registry(settings.deploy_dir / "registry.yaml")
        create_dev_keyring(settings.keys_dir, registry, datetime.now(UTC))
        keyring = Keyring.open(settings.keys_dir)
        ctx = load_ingest_context(settings)
        store = ctx.decoder
        items = drafts(store, ctx.areas, registry, args.events)
        print(f"{args.events} events, one core, {time.strftime('%Y-%m-%d')}")
        for size in BATCH_SIZES:
            client = AgencyClient(agency_keys(keyring, AGENCY), store, batch_size=size)
            messages = client.messages(items)
            mean = sum(len(m.value) for m in messages) / len(messages)
            seal = sum(len(m.seal) for m in messages) / len(messages)
            print(f"batch={size}: event {mean:.0f} B, seal header {seal:.0f} B")
            verifier = SealVerifier({AGENCY: keyring.verify_keys(agency_owner(AGENCY))})
            rate(
                f"  decode+verify+validate, batch={size}",
                len(messages),
                functools.partial(pure_path, store, verifier, messages),
            )
            ingest = Ingest(load_ingest_context(settings))
            topic = settings.feed_topic(AGENCY)
            rate(
                f"  Ingest.process (whole step), batch={size}",
                len(messages),
                functools.partial(whole_step, ingest, topic, messages),
            )
            batches: list[Batch] = list(client.batches(enumerate(items, start=1)))
            record_step(settings, f"  process_record, single, batch={size}", messages, len(items))
            records = [b.record for b in batches if b.record is not None]
            record_step(settings, f"  process_record, batch records of {size}", records, len(items))


if __name__ == "__main__":
    main()
