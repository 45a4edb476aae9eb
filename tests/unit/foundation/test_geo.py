from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.geo import AreaLookup

SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


def test_lookup_maps_lsoa_to_upper_tier_council(tmp_path: Path) -> None:
    csv = tmp_path / "geo" / "lookup.csv"
    csv.parent.mkdir()
    csv.write_text(
        "LSOA21CD,LSOA21NM,LADCD_ACTIVE,LADNM_ACTIVE,UTLACD,UTLANM\n"
        "E01000001,A 001A,E07000177,Cherwell,E10000025,Oxfordshire\n"
        "E01000002,B 001A,E06000038,Reading,E06000038,Reading\n"
    )
    areas = AreaLookup.from_data_dir(tmp_path)
    assert areas.council("E01000001") == "E10000025"
    assert areas.council("E01999999") is None
    assert areas.lsoas("E06000038") == ["E01000002"]


def test_lookup_without_the_columns_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "geo").mkdir()
    (tmp_path / "geo" / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="UTLACD"):
        AreaLookup.from_data_dir(tmp_path)
    with pytest.raises(ConfigError, match="no LSOA lookup"):
        AreaLookup.from_data_dir(tmp_path / "missing")


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="needs ../shared/data")
def test_real_lookups_cover_every_thames_valley_lsoa() -> None:
    areas = AreaLookup.from_data_dir(SHARED_DATA)
    assert len(areas) >= 1485
    assert areas.council("E01016180") == "E06000036"
