"""The demo's agency feeds: the police replay plus synthetic events of the other agencies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.agency import AgencyClient, FeedMessage, agency_keys, draft_of
from hub.agency.draft import RECORDING_DELAY
from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto.keyring import Keyring
from hub.feeds.agencies import partner_events
from hub.feeds.police import police_events
from hub.feeds.sample import write_sample_data
from hub.feeds.source import ReplayStats, SourceEvent
from hub.geo import AreaLookup
from hub.registry import load_registry

#: The replayed month starts this long before the demo runs (future synthetic events are dropped).
REPLAY_MONTH_AGO = timedelta(days=37)


@dataclass(frozen=True)
class DemoFeed:
    """Sealed feed messages ready to send, by agency, and where their data came from.

    ``messages`` holds one single-event message per event; ``records`` the same events as
    the batch records the demo sends (one Kafka record per sealed batch of one partition).
    """

    messages: list[tuple[str, FeedMessage]]
    data_dir: Path
    by_type: Counter[str]
    records: list[tuple[str, FeedMessage]] = field(default_factory=list)

    @property
    def agencies(self) -> set[str]:
        """Agencies with at least one event."""
        return {agency for agency, _ in self.messages}

    def describe(self) -> str:
        """Counts by event type, for a person to read."""
        return ", ".join(f"{t}={n}" for t, n in sorted(self.by_type.items()))


def build_demo_feed(
    settings: Settings,
    workdir: Path,
    echo: Callable[[str], None],
    keyring: Keyring,
    now: datetime | None = None,
) -> DemoFeed:
    """Police replay from ``settings.data_dir`` (or generated data) plus partner events.

    Every agency's events go through the agency SDK with that agency's keys from ``keyring``:
    pseudonymised, encoded, validated and sealed in batches. ``now`` (default: the clock) is
    when the demo runs: the month is replayed relative to it.
    """
    registry = load_registry(settings.deploy_dir / "registry.yaml")
    data_dir = settings.data_dir
    csvs = sorted((data_dir / "police").glob("*.csv"))
    if not csvs or not list((data_dir / "geo").glob("*.csv")):
        echo(
            f"no police CSV under {data_dir}/police: using generated data of the same shape."
            " Real data: https://data.police.uk/data/ (monthly, Open Government Licence);"
            " set HUB_DATA_DIR to a directory with police/*.csv and geo/*.csv (ONS LSOA lookups)."
        )
        data_dir = write_sample_data(workdir / "data", registry)
        csvs = sorted((data_dir / "police").glob("*.csv"))
    areas = AreaLookup.from_data_dir(data_dir)
    stats = ReplayStats()
    store = SchemaStore.load(settings.schemas_dir)
    now = now or datetime.now(UTC)
    police = list(police_events(csvs[0], areas, store, stats, rebase_to=now - REPLAY_MONTH_AGO))
    echo(
        f"police replay of {csvs[0].name}: {stats.rows} rows, {stats.events} events"
        f" (skipped: {dict(stats.skipped)}); subjects are invented and attached"
        " deterministically (the open data has no people in it); the month is replayed as if"
        f" it began {REPLAY_MONTH_AGO.days} days ago"
    )
    # Only what the agencies' systems have recorded by now: the SDK refuses an event recorded
    # in the future (event_in_future), as ingest would.
    partners = [
        e for e in partner_events(police, registry, store) if e.occurred_at + RECORDING_DELAY <= now
    ]
    events: list[SourceEvent] = police + partners
    messages: list[tuple[str, FeedMessage]] = []
    records: list[tuple[str, FeedMessage]] = []
    for agency_id in sorted({e.agency_id for e in events}):
        keys = agency_keys(keyring, agency_id)
        client = AgencyClient(keys, store, partitions=settings.partitions)
        prepared = [client.prepare(draft_of(e)) for e in events if e.agency_id == agency_id]
        size = client.batch_size
        for at in range(0, len(prepared), size):
            messages += [(agency_id, m) for m in client.seal(prepared[at : at + size])]
        records += [(agency_id, r) for r in client.records(prepared)]
    return DemoFeed(messages, data_dir, Counter(e.event_type for e in events), records)
