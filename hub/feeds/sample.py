"""Generated stand-ins for the real data, for a fresh clone without ``../shared/data``.

The real files are public: police street-level crime CSVs are published monthly at
https://data.police.uk/data/ (Open Government Licence v3), and the LSOA-to-council lookups come
from the ONS. This module writes files of the same shape (same columns, same crime types,
synthetic LSOA codes) so that the demo runs anywhere, and says that it did.
"""

from __future__ import annotations

import csv
import hashlib
import random
from pathlib import Path

from hub.registry import Registry

POLICE_COLUMNS = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)
GEO_COLUMNS = ("LSOA21CD", "LSOA21NM", "LADCD_ACTIVE", "LADNM_ACTIVE", "UTLACD", "UTLANM")
#: crime type -> share of rows, roughly as in a Thames Valley month.
CRIME_MIX = {
    "Violence and sexual offences": 0.28,
    "Anti-social behaviour": 0.19,
    "Other theft": 0.11,
    "Criminal damage and arson": 0.10,
    "Shoplifting": 0.08,
    "Vehicle crime": 0.07,
    "Burglary": 0.05,
    "Public order": 0.04,
    "Drugs": 0.03,
    "Theft from the person": 0.02,
    "Robbery": 0.01,
    "Possession of weapons": 0.01,
    "Bicycle theft": 0.01,
}
LSOAS_PER_COUNCIL = 12
MONTH = "2018-06"


def write_sample_data(directory: Path, registry: Registry, rows: int = 4000, seed: int = 7) -> Path:
    """Write a geo lookup and a police CSV of the real files' shape under ``directory``."""
    rng = random.Random(seed)  # noqa: S311  # reproducible synthetic data, not security
    lsoas = _write_geo(directory / "geo" / "sample_lookup.csv", registry)
    police = directory / "police" / f"{MONTH}-sample-street.csv"
    police.parent.mkdir(parents=True, exist_ok=True)
    types, weights = zip(*CRIME_MIX.items(), strict=True)
    with police.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(POLICE_COLUMNS)
        for index in range(rows):
            code, name = rng.choice(lsoas)
            crime = rng.choices(types, weights)[0]
            crime_id = "" if crime == "Anti-social behaviour" else _crime_id(seed, index)
            writer.writerow(
                (
                    crime_id,
                    MONTH,
                    "Sample Police",
                    "Sample Police",
                    "",
                    "",
                    "On or near Sample Street",
                    code,
                    name,
                    crime,
                    "",
                    "",
                )
            )
    return directory


def _write_geo(path: Path, registry: Registry) -> list[tuple[str, str]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    lsoas = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(GEO_COLUMNS)
        for p_index, partnership in enumerate(registry.partnerships):
            council = partnership.councils[0]
            for n in range(LSOAS_PER_COUNCIL):
                code, name = f"E0199{p_index:02d}{n:02d}", f"{partnership.name} {n:03d}X"
                writer.writerow((code, name, council, partnership.name, council, partnership.name))
                lsoas.append((code, name))
    return lsoas


def _crime_id(seed: int, index: int) -> str:
    return hashlib.sha256(f"sample|{seed}|{index}".encode()).hexdigest()
