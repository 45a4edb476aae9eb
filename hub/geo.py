"""Geography: which council an LSOA lies in, from the ONS lookups in ``data/geo/``."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from hub.errors import ConfigError

_LSOA_COLUMNS = ("LSOA21CD", "LSOA11CD")


class AreaLookup:
    """Maps LSOA codes (2011 and 2021) to upper-tier council codes (UTLACD)."""

    def __init__(self, lsoa_to_council: Mapping[str, str]) -> None:
        self._map = dict(lsoa_to_council)

    def council(self, lsoa: str) -> str | None:
        """The council of an LSOA, or None when the LSOA is not in the lookup."""
        return self._map.get(lsoa)

    def lsoas(self, council: str) -> list[str]:
        """Every LSOA of a council, sorted (for deterministic synthetic data)."""
        return sorted(k for k, v in self._map.items() if v == council)

    def __len__(self) -> int:
        return len(self._map)

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> AreaLookup:
        """Load one or more lookup CSVs with an LSOA column and a UTLACD column."""
        mapping: dict[str, str] = {}
        for path in paths:
            try:
                with path.open(newline="", encoding="utf-8") as handle:
                    reader = csv.DictReader(handle)
                    column = next(
                        (c for c in _LSOA_COLUMNS if c in (reader.fieldnames or [])), None
                    )
                    if column is None or "UTLACD" not in (reader.fieldnames or []):
                        raise ConfigError(f"{path}: needs an LSOA11CD/LSOA21CD and a UTLACD column")
                    for row in reader:
                        mapping[row[column]] = row["UTLACD"]
            except OSError as exc:
                raise ConfigError(f"{path}: cannot read area lookup: {exc}") from exc
        return cls(mapping)

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> AreaLookup:
        """Load every ``geo/*.csv`` under a data directory."""
        paths = sorted((data_dir / "geo").glob("*.csv"))
        if not paths:
            raise ConfigError(f"{data_dir / 'geo'}: no LSOA lookup CSVs found")
        return cls.from_files(paths)
