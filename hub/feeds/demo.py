"""The demo's agency feeds: the police replay plus synthetic events of the other agencies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hub.agency import to_record
from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto.secret import HmacKey
from hub.feeds.agencies import partner_events
from hub.feeds.police import police_events
from hub.feeds.sample import write_sample_data
from hub.feeds.source import ReplayStats, SourceEvent
from hub.geo import AreaLookup
from hub.registry import load_registry

DEMO_KEY_ID = "demo-unsigned"


@dataclass(frozen=True)
class DemoFeed:
    """Encoded events ready to send, by agency, and where their data came from."""

    messages: list[tuple[str, bytes]]
    data_dir: Path
    by_type: Counter[str]

    @property
    def agencies(self) -> set[str]:
        """Agencies with at least one event."""
        return {agency for agency, _ in self.messages}

    def describe(self) -> str:
        """Counts by event type, for a person to read."""
        return ", ".join(f"{t}={n}" for t, n in sorted(self.by_type.items()))


def build_demo_feed(settings: Settings, workdir: Path, echo: Callable[[str], None]) -> DemoFeed:
    """Police replay from ``settings.data_dir`` (or generated data) plus partner events."""
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
    police = list(police_events(csvs[0], areas, store, stats))
    echo(
        f"police replay of {csvs[0].name}: {stats.rows} rows, {stats.events} events"
        f" (skipped: {dict(stats.skipped)}); subjects are invented and attached"
        " deterministically (the open data has no people in it)"
    )
    events: list[SourceEvent] = police + list(partner_events(police, registry, store))
    linkage = HmacKey.generate()
    messages = [
        (e.agency_id, store.encode(e.event_type, to_record(e, linkage, DEMO_KEY_ID)))
        for e in events
    ]
    return DemoFeed(messages, data_dir, Counter(e.event_type for e in events))
