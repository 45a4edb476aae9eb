"""Where a backtest's events come from: the demo's generator, a police CSV, an agency file.

Every source goes through the agency SDK as ``hub feed`` does (pseudonymised, encoded,
validated and sealed with the agency's keys from the keyring, each batch of up to 256 events
as one batch record), so the backtest reads the same bytes the live hub would. Each yields
chunks of :data:`~hub.backtest.run.Sealed` messages; a chunk is run in event time, and
chunks must follow each other in time.
Rows the SDK refuses are counted in ``refused`` by reason.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from hub.agency import (
    AgencyClient,
    EventDraft,
    FileFeed,
    RowMapper,
    RowMapping,
    agency_keys,
    draft_of,
    read_rows,
)
from hub.agency.rows import FileFormat
from hub.backtest.period import BacktestInputError, Period
from hub.backtest.plan import Sealed
from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import Keyring
from hub.errors import HubError
from hub.feeds.agencies import partner_events
from hub.feeds.police import police_events
from hub.feeds.source import SourceEvent
from hub.geo import AreaLookup
from hub.registry import Registry, load_registry

Chunks = Iterator[list[Sealed]]


class Sealer:
    """Seals drafts per agency with the keyring's keys, counting what the SDK refuses."""

    def __init__(self, settings: Settings, keyring: Keyring) -> None:
        self.registry = load_registry(settings.deploy_dir / "registry.yaml")
        self.store = SchemaStore.load(settings.schemas_dir)
        self.areas = AreaLookup.from_data_dir(settings.data_dir)
        self._keyring = keyring
        self._clients: dict[str, AgencyClient] = {}
        self.refused: Counter[str] = Counter()

    def client(self, agency_id: str) -> AgencyClient:
        """The agency's SDK client (BacktestInputError for an agency not in the registry)."""
        if agency_id not in self._clients:
            agency = next((a for a in self.registry.agencies if a.id == agency_id), None)
            if agency is None:
                raise BacktestInputError(f"agency {agency_id!r} is not in the registry")
            keys = agency_keys(self._keyring, agency_id)
            self._clients[agency_id] = AgencyClient(keys, self.store, agency.event_types)
        return self._clients[agency_id]

    def seal(self, events: Iterable[SourceEvent]) -> list[Sealed]:
        """Replayed source events, sealed per agency."""
        by_agency: dict[str, list[EventDraft]] = {}
        for event in events:
            by_agency.setdefault(event.agency_id, []).append(draft_of(event))
        out: list[Sealed] = []
        for agency_id, drafts in sorted(by_agency.items()):
            for batch in self.client(agency_id).batches(enumerate(drafts, start=1)):
                out += [(agency_id, m) for m in batch.wire()]
                self.refused.update(r.reason for r in batch.rejects)
        return out


def demo_months(sealer: Sealer, police_csv: Path, period: Period) -> Chunks:
    """The demo's generator over the period: its police month replayed as every month, with
    the synthetic partner events of each (about 8,300 events a month from the sample)."""
    _readable(police_csv)
    for n, month in enumerate(period.months()):
        start = datetime.combine(month, datetime.min.time(), UTC)
        police = list(police_events(police_csv, sealer.areas, sealer.store, rebase_to=start))
        partners = partner_events(police, sealer.registry, sealer.store, seed=2018 + n)
        yield sealer.seal([*police, *partners])


def police_file(sealer: Sealer, path: Path, *, partners: bool) -> Chunks:
    """A data.police.uk street CSV at its published dates (as ``hub feed police --file``)."""
    _readable(path)
    police = list(police_events(path, sealer.areas, sealer.store))
    extra = partner_events(police, sealer.registry, sealer.store) if partners else ()
    yield sealer.seal([*police, *extra])


def agency_file(
    sealer: Sealer, agency_id: str, path: Path, mapping: Path | None, fmt: FileFormat
) -> Chunks:
    """An agency's export file through its mapping (as ``hub feed send``)."""
    _readable(path)
    try:
        row_mapping = RowMapping.load(mapping) if mapping else RowMapping.by_name()
    except HubError as exc:
        raise BacktestInputError(f"mapping {mapping}: {exc}") from exc
    feed = FileFeed(sealer.client(agency_id), RowMapper(row_mapping, sealer.store))
    out: list[Sealed] = []
    for item in feed.batches(read_rows(path, fmt)):
        out += [(agency_id, m) for m in item.batch.wire()]
        sealer.refused.update(r.reject.reason for r in item.rejected)
    yield out


def demo_data_dir(data_dir: Path, registry: Registry, workdir: Path) -> Path:
    """The data directory when it has police and geo CSVs, else the demo's generated sample."""
    from hub.feeds.sample import write_sample_data  # noqa: PLC0415  # only when no data is given

    if list((data_dir / "police").glob("*.csv")) and list((data_dir / "geo").glob("*.csv")):
        return data_dir
    return write_sample_data(workdir / "data", registry)


def first_police_csv(data_dir: Path) -> Path:
    """The first police CSV of a data directory (BacktestInputError when there is none)."""
    found = sorted((data_dir / "police").glob("*.csv"))
    if not found:
        raise BacktestInputError(f"no police CSV under {data_dir / 'police'}")
    return found[0]


def _readable(path: Path) -> None:
    """BacktestInputError unless ``path`` is a readable text file with a first line."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            next(csv.reader(handle), None)
    except (OSError, UnicodeDecodeError) as exc:
        raise BacktestInputError(f"cannot read {path}: {type(exc).__name__}") from exc
