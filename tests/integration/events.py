"""Building valid encoded events for integration tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.codec import SchemaStore
from hub.feeds.synthetic import synth_fields
from hub.ids import uuid7

ROOT = Path(__file__).resolve().parents[2]
STORE = SchemaStore.load(ROOT / "schemas")

READING_LSOA = "E01016353"
WOKINGHAM_LSOA = "E01016611"
OXFORDSHIRE_LSOA = "E01028422"


def record(
    event_type: str, agency_id: str, lsoa: str, seed: int, **envelope: Any
) -> dict[str, Any]:
    """A valid record of ``event_type`` with deterministic content."""
    rng = random.Random(seed)
    occurred = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=seed)
    env: dict[str, Any] = {
        "event_id": uuid7(occurred, seed=f"{event_type}|{seed}".encode()),
        "agency_id": agency_id,
        "occurred_at": occurred,
        "recorded_at": occurred + timedelta(hours=1),
        "subject_token": None
        if STORE.subject_rule(event_type) == "forbidden"
        else f"lt1:test:{seed:064x}",
        "lsoa": lsoa,
        "age": None if STORE.subject_rule(event_type) == "forbidden" else 15,
        "key_id": "test-key",
    }
    env.update(envelope)
    return {"envelope": env, **synth_fields(STORE.schema(event_type), rng, occurred)}


def encoded(event_type: str, agency_id: str, lsoa: str, seed: int, **envelope: Any) -> bytes:
    """``record(...)`` in single-object encoding."""
    return STORE.encode(event_type, record(event_type, agency_id, lsoa, seed, **envelope))
