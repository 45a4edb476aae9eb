"""``docs/events.md`` lists every event type and every current field with its sensitivity."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hub.codec import SchemaStore

STORE = SchemaStore.load(Path("schemas"))
DOC = Path("docs/events.md").read_text(encoding="utf-8")


def section(event_type: str) -> str:
    match = re.search(rf"^### `{re.escape(event_type)}`\n(.*?)(?=^### |^## )", DOC, re.M | re.S)
    assert match is not None, f"no section for {event_type}"
    return match.group(1)


@pytest.mark.parametrize("event_type", sorted(STORE.event_types))
def test_every_field_is_documented_with_its_sensitivity(event_type: str) -> None:
    text = section(event_type)
    assert f"current v{STORE.current_version(event_type)}" in text
    for name, info in STORE.fields(event_type).items():
        if name.startswith("envelope."):
            continue
        row = re.search(rf"^\| `{name}` \| ((?:[^|\\]|\\\|)+) \| ([^|]*) \|", text, re.M)
        assert row is not None, f"{event_type}.{name} undocumented"
        assert row.group(1).strip().replace("\\|", "|") == info.avro_type
        documented = row.group(2).strip().strip("*") or "normal"
        assert documented == info.sensitivity


def test_every_envelope_field_is_documented() -> None:
    for name in STORE.fields("police.arrest"):
        if name.startswith("envelope."):
            assert f"| `{name.removeprefix('envelope.')}` |" in DOC
