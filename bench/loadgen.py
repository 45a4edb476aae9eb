"""Load for the pipeline benchmark: the police replay plus partner events, pre-sealed.

The police month (``<data_dir>/police/*.csv``, or generated data of the same shape when it is
absent, as the demo does) is replayed as many times as needed to reach the requested number
of events; each copy gets its own crime references, so every event id is distinct. Each row
is attached to one of ``subjects`` invented young people, spread over the councils: fewer
subjects means more events per person and more flags. Partner agencies' events come from
``hub.feeds.agencies.partner_events`` in its realistic proportions. Every event then goes
through the agency SDK (linkage token, Avro, validation, batch seal) *before* any timing
starts, so the generator is never the bottleneck.

A load holds the same events twice over: ``messages``, one single-event record each (what
the latency probe and the in-process domain benchmark read), and ``records``, the batch
records the SDK sends by default (one Kafka record per sealed batch of up to 256 events of
one feed partition, ``hub.crypto.batchrecord``), which ``bench.stack.send_all`` sends.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.agency import AgencyClient, FeedMessage, Prepared, agency_keys, draft_of
from hub.agency.draft import RECORDING_DELAY
from hub.codec import SchemaStore
from hub.crypto import Keyring
from hub.crypto.batchrecord import parse_batch_record
from hub.feeds.agencies import partner_events
from hub.feeds.people import person, pick
from hub.feeds.police import CRIME_TYPES, VIOLENCE_OFFENCES
from hub.feeds.sample import write_sample_data
from hub.feeds.source import SourceEvent
from hub.feeds.synthetic import synth_valid_fields
from hub.geo import AreaLookup
from hub.registry import Registry

#: The replayed month starts this long before the run (as in the demo), so flags are live.
MONTH_AGO = timedelta(days=37)
Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Sent:
    """One pre-sealed message with what the latency probe needs to know about it."""

    agency_id: str
    message: FeedMessage
    event_type: str
    day: date


@dataclass(frozen=True, slots=True)
class SentRecord:
    """One pre-sealed batch record and the agency whose feed it goes to."""

    agency_id: str
    message: FeedMessage


@dataclass(frozen=True)
class Load:
    """Pre-sealed messages in send order, where their data came from, and their mix."""

    messages: list[Sent]
    data_dir: Path
    source: str
    subjects: int
    by_agency: Counter[str]
    records: list[SentRecord] = field(default_factory=list)
    """The same events as batch records, in time order of each batch's first event."""

    def describe(self) -> str:
        """One line for a person to read."""
        mix = ", ".join(f"{a}={n}" for a, n in sorted(self.by_agency.items()))
        return f"{len(self.messages)} events for {self.subjects} subjects from {self.source}: {mix}"


@dataclass(frozen=True, slots=True)
class _Row:
    crime_id: str
    crime_type: str
    lsoa: str
    council: str


def data_for(data_dir: Path, workdir: Path, registry: Registry, echo: Echo) -> tuple[Path, str]:
    """The data directory to replay: the real one when present, else generated data."""
    if list((data_dir / "police").glob("*.csv")) and list((data_dir / "geo").glob("*.csv")):
        return data_dir, sorted((data_dir / "police").glob("*.csv"))[0].name
    echo(f"no police CSV under {data_dir}/police: generating data of the same shape")
    generated = write_sample_data(workdir / "data", registry)
    return generated, "generated sample (no ../shared/data)"


@dataclass(frozen=True)
class Generator:
    """Where the load comes from and the keys and schemas the agencies seal it with."""

    data_dir: Path
    source: str
    store: SchemaStore
    registry: Registry
    keyring: Keyring
    partitions: int = 4
    """The feed topics' partitions: each batch record holds one partition's events."""

    def build(self, events: int, subjects: int, tag: str = "") -> Load:
        """``events`` sealed messages over ``subjects`` people, interleaved in time order.

        Loads built with different ``tag`` values have distinct event ids, so they can be sent
        to the same hub without being taken for duplicates.
        """
        return build_load(self, events, subjects, tag)


def build_load(gen: Generator, events: int, subjects: int, tag: str = "") -> Load:
    """``events`` sealed messages over ``subjects`` people, interleaved in time order."""
    data_dir, store, registry, keyring = gen.data_dir, gen.store, gen.registry, gen.keyring
    areas = AreaLookup.from_data_dir(data_dir)
    rows = _rows(sorted((data_dir / "police").glob("*.csv"))[0], areas)
    councils = sorted({r.council for r in rows})
    per_council = max(1, subjects // len(councils))
    now = datetime.now(UTC)
    start = now - MONTH_AGO
    chosen: list[SourceEvent] = []
    latest = now - RECORDING_DELAY - timedelta(hours=1)  # recorded_at must not be in the future
    for event in _replay(rows, store, start, per_council, registry, tag=tag):
        if event.occurred_at < latest:
            chosen.append(event)
        if len(chosen) >= events:
            break
    sealed: list[tuple[datetime, Sent]] = []
    records: list[tuple[datetime, SentRecord]] = []
    for agency_id in sorted({e.agency_id for e in chosen}):
        mine = sorted((e for e in chosen if e.agency_id == agency_id), key=_when)
        client = AgencyClient(agency_keys(keyring, agency_id), store, partitions=gen.partitions)
        prepared = [client.prepare(draft_of(e)) for e in mine]
        sealed += [
            (e.occurred_at, Sent(agency_id, m, e.event_type, e.occurred_at.date()))
            for e, m in zip(mine, _single_records(client, prepared), strict=True)
        ]
        when = {p.value: p.occurred_at or start for p in prepared}
        records += [
            (when[parse_batch_record(r.value).events[0]], SentRecord(agency_id, r))
            for r in client.records(prepared)
        ]
    sealed.sort(key=lambda pair: pair[0])
    records.sort(key=lambda pair: pair[0])
    ordered = [s for _, s in sealed]
    by_agency = Counter(s.agency_id for s in ordered)
    subjects = per_council * len(councils)
    batched = [r for _, r in records]
    return Load(ordered, data_dir, gen.source, subjects, by_agency, batched)


def _single_records(client: AgencyClient, prepared: list[Prepared]) -> list[FeedMessage]:
    """One single-event message per prepared event, in order, sealed in batches."""
    size = client.batch_size
    return [
        m for at in range(0, len(prepared), size) for m in client.seal(prepared[at : at + size])
    ]


def _when(event: SourceEvent) -> datetime:
    return event.occurred_at


def _rows(path: Path, areas: AreaLookup) -> list[_Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [
            _Row(r["Crime ID"], r["Crime type"], r["LSOA code"], council)
            for r in csv.DictReader(handle)
            if r.get("Crime type") in CRIME_TYPES
            and r.get("Crime ID")
            and (council := areas.council(r.get("LSOA code", ""))) is not None
        ]
    if not rows:
        raise SystemExit(f"{path}: no replayable police rows")
    return rows


def _replay(
    rows: list[_Row],
    store: SchemaStore,
    start: datetime,
    per_council: int,
    registry: Registry,
    *,
    tag: str,
) -> Iterator[SourceEvent]:
    """Copies of the month, each police event followed by the partner events it implies."""
    copy = 0
    while True:
        police = [_police_event(r, f"{tag}{copy}", store, start, per_council) for r in rows]
        for event in police:
            yield event
            for partner in partner_events([event], registry, store, seed=_seed(event.source_ref)):
                # partner_events numbers area-level health records by position in its input
                # (always 0 here): give them the police reference so their ids stay distinct.
                yield replace(partner, source_ref=f"{event.source_ref}|{partner.source_ref}")
        copy += 1


def _police_event(
    row: _Row, copy: str, store: SchemaStore, start: datetime, per_council: int
) -> SourceEvent:
    ref = f"{row.crime_id}#{copy}"
    event_type, fixed = CRIME_TYPES[row.crime_type]
    rng = random.Random(_seed(ref))  # noqa: S311  # reproducible synthetic detail, not security
    occurred = start + timedelta(days=rng.randint(0, 27), minutes=rng.randint(0, 24 * 60 - 1))
    fields: dict[str, Any] = synth_valid_fields(event_type, store.schema(event_type), rng, occurred)
    fields |= fixed
    if event_type == "police.violent_incident" and "offence" not in fixed:
        fields["offence"] = rng.choice(VIOLENCE_OFFENCES)
    # A fixed reference day keeps each invented person's date of birth, hence token, stable.
    subject = person(row.council, pick(ref, per_council), start.date())
    return SourceEvent("police", event_type, occurred, row.lsoa, subject, fields, ref)


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
