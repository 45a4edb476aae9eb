from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.registry import load_registry

ROOT = Path(__file__).resolve().parents[3]


def test_shipped_registry_has_eight_agencies_and_nine_partnerships() -> None:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    assert len(registry.agencies) == 8
    assert len(registry.partnerships) == 9
    assert registry.partnership_for_council("E06000038") == registry.partnership("reading")
    assert registry.partnership_for_council("E09000001") is None
    assert "health.ed_assault" in registry.event_types


def test_unknown_ids_raise_config_error() -> None:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    with pytest.raises(ConfigError, match="unknown agency"):
        registry.agency("nobody")
    with pytest.raises(ConfigError, match="unknown partnership"):
        registry.partnership("atlantis")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "agencies: []\npartnerships:\n  - {id: a, name: A, councils: [E06000036]}\n"
            "  - {id: b, name: B, councils: [E06000036]}\n",
            "more than one partnership",
        ),
        ("agencies: []\npartnerships:\n  - {id: a, name: A, councils: [X1]}\n", "malformed ONS"),
        (
            "agencies:\n  - {id: p, name: P, sector: s, event_types: [Bad]}\npartnerships: []\n",
            "malformed event types",
        ),
        (
            "agencies: []\npartnerships:\n  - {id: a, name: A, councils: [E06000036]}\n"
            "  - {id: a, name: B, councils: [E06000037]}\n",
            "duplicate partnership ids",
        ),
        ("agencies: [\n", "cannot read registry"),
    ],
)
def test_bad_registry_names_the_file_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_registry(path)
    assert str(path) in str(info.value)
