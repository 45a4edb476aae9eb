"""Building valid, sealed feed messages for integration tests."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import HmacKey, Keyring, agency_owner, seal_batch
from hub.crypto.batchrecord import encode_batch_record
from hub.crypto.record import Kind, parse
from hub.errors import MalformedRecordError
from hub.feeds.synthetic import synth_valid_fields
from hub.ids import uuid7
from hub.ingest import SEAL_HEADER
from hub.pseudonym import NationalIdentity, linkage_token
from tests.overrides import known_only

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


#: Envelope names a test may set (the codec stamps ``event_type`` and ``schema_version`` when
#: they are absent).
ENVELOPE_KEYS = frozenset(
    name.removeprefix("envelope.")
    for name in STORE.fields("police.arrest")
    if name.startswith("envelope.")
)

#: Where a default event's time starts: midnight UTC fourteen days before the run, never a
#: calendar date, so a rule's window (14 days and up, judged against the hub's clock) cannot
#: close on a test's events as the calendar moves on. Seeds add minutes: the largest seeds in
#: use (about 16,000) still land days before the run.
RECENT = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=14)


def record(
    event_type: str,
    agency_id: str,
    lsoa: str,
    seed: int,
    *,
    occurred: datetime | None = None,
    fields: Mapping[str, Any] | None = None,
    **envelope: Any,
) -> dict[str, Any]:
    """A valid record of ``event_type`` with deterministic content (key id to be set).

    ``occurred`` sets when the event happened (``occurred_at``; ``recorded_at`` an hour
    later, as for every default event); by default it is :data:`RECENT` plus ``seed``
    minutes. ``fields`` replaces body fields and ``envelope`` names replace envelope fields;
    a name the schema does not have is a ``TypeError`` (not a field the writer leaves out).
    """
    known_only(envelope, ENVELOPE_KEYS, "record")
    rng = random.Random(seed)
    occurred = occurred or RECENT + timedelta(minutes=seed)
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
    body = synth_valid_fields(event_type, STORE.schema(event_type), rng, occurred)
    return with_fields(event_type, {"envelope": env, **body}, fields or {})


def with_fields(event_type: str, rec: dict[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """``rec`` with body ``fields`` replaced; a name ``event_type`` does not have is refused."""
    known_only(fields, _body_names(event_type), f"with_fields[{event_type}]")
    return {**rec, **fields}


def _body_names(event_type: str) -> list[str]:
    return [f["name"] for f in STORE.schema(event_type)["fields"] if f["name"] != "envelope"]


def sealed(
    settings: Settings, agency_id: str, items: list[tuple[str, dict[str, Any]]]
) -> list[Message]:
    """Encode ``(event_type, record)`` items as ``agency_id``, sealed as one batch with its key.

    A record whose envelope has ``key_id == "unset"`` gets the agency's signing key id. A name
    the schema does not have is refused (the Avro writer would silently leave it out).
    """
    key = Keyring.open(settings.keys_dir).signing_key(agency_owner(agency_id))
    values = _encoded(key.key_id, items)
    seals = seal_batch(values, key, agency_id)
    return [(v, [(SEAL_HEADER, s.to_bytes())]) for v, s in zip(values, seals, strict=True)]


def batch_record(
    settings: Settings, agency_id: str, items: list[tuple[str, dict[str, Any]]]
) -> bytes:
    """Encode ``(event_type, record)`` items as ``agency_id``, sealed as one batch record."""
    key = Keyring.open(settings.keys_dir).signing_key(agency_owner(agency_id))
    return encode_batch_record(_encoded(key.key_id, items), key, agency_id)


def _encoded(key_id: str, items: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    values = []
    for event_type, rec in items:
        known_only(rec, ["envelope", *_body_names(event_type)], f"sealed[{event_type}]")
        known_only(rec["envelope"], ENVELOPE_KEYS, f"sealed[{event_type}].envelope")
        envelope = dict(rec["envelope"])
        if envelope["key_id"] == "unset":
            envelope["key_id"] = key_id
        values.append(STORE.encode(event_type, {**rec, "envelope": envelope}))
    return values


def one(
    settings: Settings,
    event_type: str,
    agency_id: str,
    lsoa: str,
    seed: int,
    *,
    occurred: datetime | None = None,
    **envelope: Any,
) -> Message:
    """A single sealed event of ``event_type`` from ``agency_id`` (names as for :func:`record`)."""
    rec = record(event_type, agency_id, lsoa, seed, occurred=occurred, **envelope)
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


class AcceptedIds:
    """:func:`accepted_ids` of a list that only grows (the one ``kafka.wait_for`` passes its
    condition round after round), each record decoded once: a condition over a backlog of
    thousands of records does not decode them all again twice a second."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self._records: list[Any] | None = None
        self._read = 0

    def __call__(self, records: list[Any]) -> set[str]:
        if records is not self._records or len(records) < self._read:  # another list
            self.ids, self._records, self._read = set(), records, 0
        self.ids.update(accepted_ids(records[self._read :]))
        self._read = len(records)
        return self.ids


def decisions_of(records: list[Any]) -> list[dict[str, Any]]:
    """The decision records the decisions topic's records carry, in order."""
    return [json.loads(v) for v in items_of(records, Kind.DECISIONS)]
