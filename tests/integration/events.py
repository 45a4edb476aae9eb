"""Building valid, sealed feed messages for integration tests."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import HmacKey, Keyring, agency_owner, seal_batch
from hub.crypto.record import Kind, parse
from hub.errors import MalformedRecordError
from hub.feeds.synthetic import synth_valid_fields
from hub.ids import uuid7
from hub.ingest import SEAL_HEADER
from hub.pseudonym import NationalIdentity, linkage_token

ROOT = Path(__file__).resolve().parents[2]
STORE = SchemaStore.load(ROOT / "schemas")

READING_LSOA = "E01016353"
WOKINGHAM_LSOA = "E01016611"
OXFORDSHIRE_LSOA = "E01028422"

Message = tuple[bytes, list[tuple[str, bytes]]]


TEST_LINKAGE_KEY = HmacKey(b"\x07" * 32)


def token_for(seed: int) -> str:
    """A well-formed linkage token for test subject number ``seed``."""
    return linkage_token(NationalIdentity("test", str(seed)), TEST_LINKAGE_KEY).text


def record(
    event_type: str, agency_id: str, lsoa: str, seed: int, **envelope: Any
) -> dict[str, Any]:
    """A valid record of ``event_type`` with deterministic content (key id to be set)."""
    rng = random.Random(seed)
    occurred = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=seed)
    area_only = STORE.subject_rule(event_type) == "forbidden"
    env: dict[str, Any] = {
        "event_id": uuid7(occurred, seed=f"{event_type}|{seed}".encode()),
        "agency_id": agency_id,
        "occurred_at": occurred,
        "recorded_at": occurred + timedelta(hours=1),
        "subject_token": None if area_only else token_for(seed),
        "lsoa": lsoa,
        "age": None if area_only else 15,
        "key_id": "unset",
    }
    env.update(envelope)
    fields = synth_valid_fields(event_type, STORE.schema(event_type), rng, occurred)
    return {"envelope": env, **fields}


def sealed(
    settings: Settings, agency_id: str, items: list[tuple[str, dict[str, Any]]]
) -> list[Message]:
    """Encode ``(event_type, record)`` items as ``agency_id``, sealed as one batch with its key.

    A record whose envelope has ``key_id == "unset"`` gets the agency's signing key id.
    """
    key = Keyring.open(settings.keys_dir).signing_key(agency_owner(agency_id))
    values = []
    for event_type, rec in items:
        envelope = dict(rec["envelope"])
        if envelope["key_id"] == "unset":
            envelope["key_id"] = key.key_id
        values.append(STORE.encode(event_type, {**rec, "envelope": envelope}))
    seals = seal_batch(values, key, agency_id)
    return [(v, [(SEAL_HEADER, s.to_bytes())]) for v, s in zip(values, seals, strict=True)]


def one(
    settings: Settings, event_type: str, agency_id: str, lsoa: str, seed: int, **envelope: Any
) -> Message:
    """A single sealed event of ``event_type`` from ``agency_id``."""
    rec = record(event_type, agency_id, lsoa, seed, **envelope)
    return sealed(settings, agency_id, [(event_type, rec)])[0]


def items_of(records: list[Any], kind: Kind) -> list[bytes]:
    """The items of the internal records of ``kind`` among ``records`` (others left out).

    Read without verifying: a test's own reading of what the hub wrote.
    """
    found: list[bytes] = []
    for r in records:
        try:
            parsed = parse(r.value or b"")
        except MalformedRecordError:
            continue
        if parsed.kind is kind:
            found.extend(parsed.items)
    return found


def accepted_types(records: list[Any]) -> list[str]:
    """Event types of records read from the accepted topic (markers and ticks left out)."""
    return [STORE.decode(v).event_type for v in items_of(records, Kind.EVENTS)]


def accepted_ids(records: list[Any]) -> list[str]:
    """Event ids of records read from the accepted topic (markers and ticks left out)."""
    return [STORE.decode(v).record["envelope"]["event_id"] for v in items_of(records, Kind.EVENTS)]


def decisions_of(records: list[Any]) -> list[dict[str, Any]]:
    """The decision records the decisions topic's records carry, in order."""
    return [json.loads(v) for v in items_of(records, Kind.DECISIONS)]
