"""The police feed from data.police.uk street-level crime CSVs.

Violence, robbery, weapons and drugs rows become events in the council of their LSOA (via the
ONS lookup). The published data has no people in it, so each row is attached to an invented
young person (``hub.feeds.people``): deterministic, and said so in the docs. Rows without an
LSOA, outside the lookup, or of other crime types are skipped and counted.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.codec import SchemaStore
from hub.feeds.people import person, pick
from hub.feeds.source import ReplayStats, SourceEvent
from hub.feeds.synthetic import synth_valid_fields
from hub.geo import AreaLookup

#: police.uk crime type -> (event type, fixed fields).
CRIME_TYPES: dict[str, tuple[str, dict[str, Any]]] = {
    "Violence and sexual offences": ("police.violent_incident", {}),
    "Robbery": ("police.violent_incident", {"offence": "ROBBERY"}),
    "Possession of weapons": ("police.weapon_possession", {}),
    "Drugs": ("police.stop_search", {}),
}
VIOLENCE_OFFENCES = ("VIOLENCE_WITH_INJURY", "VIOLENCE_WITHOUT_INJURY", "STALKING_AND_HARASSMENT")
PEOPLE_PER_COUNCIL = 60


def police_events(
    csv_path: Path,
    areas: AreaLookup,
    schemas: SchemaStore,
    stats: ReplayStats | None = None,
    rebase_to: datetime | None = None,
) -> Iterator[SourceEvent]:
    """Events from one police.uk street-level CSV, in file order.

    ``rebase_to`` replays the month as if it had started at that instant (the demo replays
    2018 as last month, so that flags are live and agreements in force); None keeps the
    published dates.
    """
    stats = stats if stats is not None else ReplayStats()
    with csv_path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            stats.rows += 1
            event = _event(row, areas, schemas, stats, rebase_to)
            if event is not None:
                stats.events += 1
                yield event


def _event(
    row: dict[str, str],
    areas: AreaLookup,
    schemas: SchemaStore,
    stats: ReplayStats,
    rebase_to: datetime | None,
) -> SourceEvent | None:
    mapping = CRIME_TYPES.get(row.get("Crime type", ""))
    lsoa = row.get("LSOA code", "")
    council = areas.council(lsoa) if lsoa else None
    crime_id = row.get("Crime ID", "")
    if mapping is None:
        stats.skipped["other_crime_type"] += 1
        return None
    if not lsoa or council is None or not crime_id:
        stats.skipped["no_area" if not lsoa or council is None else "no_crime_id"] += 1
        return None
    event_type, fixed = mapping
    rng = random.Random(hashlib.sha256(crime_id.encode()).digest())  # noqa: S311  # reproducible synthetic detail, not security
    month_start = _month_start(row["Month"], rebase_to)
    occurred = month_start + timedelta(days=rng.randint(0, 27), minutes=rng.randint(0, 24 * 60 - 1))
    fields: dict[str, Any] = (
        synth_valid_fields(event_type, schemas.schema(event_type), rng, occurred) | fixed
    )
    if event_type == "police.violent_incident" and "offence" not in fixed:
        fields["offence"] = rng.choice(VIOLENCE_OFFENCES)
    # One reference day for the whole month: a person keeps one date of birth, hence one
    # linkage token, whichever day of the month the event falls on.
    subject = person(council, pick(crime_id, PEOPLE_PER_COUNCIL), month_start.date())
    return SourceEvent("police", event_type, occurred, lsoa, subject, fields, crime_id)


def _month_start(month: str, rebase_to: datetime | None) -> datetime:
    return rebase_to or datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
