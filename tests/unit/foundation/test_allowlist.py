from __future__ import annotations

from pathlib import Path

import pytest

from hub.allowlist import load_allowlist
from hub.errors import ConfigError
from hub.registry import load_registry

ROOT = Path(__file__).resolve().parents[3]


def test_default_deny_and_listed_flows() -> None:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    allow = load_allowlist(ROOT / "deploy" / "allowlist.yaml", registry)
    assert allow.allows("police", "police.violent_incident", "reading")
    assert not allow.allows("police", "police.violent_incident", "wokingham")
    assert not allow.allows("health", "health.ed_assault", "reading")


def test_allowlist_naming_unknown_parties_is_refused(tmp_path: Path) -> None:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    path = tmp_path / "allow.yaml"
    path.write_text(
        "flows:\n  - agency: police\n    event_types: [police.arrest]\n"
        "    partnerships: [atlantis]\n"
    )
    with pytest.raises(ConfigError, match="atlantis"):
        load_allowlist(path, registry)
