"""read_accepted: the event ingest validated, or the same event decoded and validated again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hub.codec import SchemaStore
from hub.errors import ValidationError
from hub.models import read_accepted, remember, validate_event
from hub.models.accepted import CAPACITY

from .conftest import BODIES, envelope_for


def _encoded(store: SchemaStore, event_type: str, **envelope: object) -> bytes:
    record = {"envelope": envelope_for(event_type, **envelope), **BODIES[event_type]}
    return store.encode(event_type, record)


@pytest.mark.parametrize("event_type", sorted(BODIES))
def test_a_remembered_event_is_the_one_decoding_again_gives(
    store: SchemaStore, event_type: str
) -> None:
    value = _encoded(store, event_type)
    fresh = validate_event(store.decode(value), clock=None)
    assert read_accepted(store, value) == fresh  # not remembered: decoded and validated
    remembered = validate_event(store.decode(value))  # as ingest does, with its clock
    remember(store, value, remembered)
    assert read_accepted(store, value) is remembered
    assert remembered == fresh
    assert read_accepted(store, value) == fresh  # read once; then decoded again


def test_a_store_loaded_from_the_same_schemas_shares_what_ingest_remembered(
    store: SchemaStore,
) -> None:
    other = SchemaStore.load(Path("schemas"))
    assert other.identity == store.identity
    value = _encoded(store, "police.violent_incident")
    event = validate_event(store.decode(value))
    remember(store, value, event)
    assert read_accepted(other, value) is event


def test_a_store_with_other_schemas_never_gets_another_stores_event(
    store: SchemaStore, tmp_path: Path
) -> None:
    """Same fingerprints (a field's doc changed), other schemas: decoded again, not shared."""
    shutil.copytree("schemas", tmp_path / "schemas")
    path = next((tmp_path / "schemas").glob("police/violent_incident.v*.avsc"))
    schema = json.loads(path.read_text())
    schema["doc"] = f"{schema.get('doc', '')} (edited)"
    path.write_text(json.dumps(schema))
    edited = SchemaStore.load(tmp_path / "schemas")
    assert edited.identity != store.identity
    value = _encoded(store, "police.violent_incident")
    event = validate_event(store.decode(value))
    remember(store, value, event)
    assert read_accepted(edited, value) is not event
    assert read_accepted(edited, value) == event


def test_bytes_nobody_remembered_are_validated_as_before(store: SchemaStore) -> None:
    value = _encoded(store, "police.violent_incident", subject_token=None)
    with pytest.raises(ValidationError, match="subject_token"):
        read_accepted(store, value)


def test_only_the_newest_events_are_kept(store: SchemaStore) -> None:
    first = _encoded(store, "police.violent_incident")
    event = validate_event(store.decode(first))
    remember(store, first, event)
    filler = validate_event(store.decode(_encoded(store, "education.suspension")))
    for n in range(CAPACITY):
        remember(store, n.to_bytes(4, "big"), filler)
    assert read_accepted(store, first) is not event
    assert read_accepted(store, first) == event
    for n in range(CAPACITY):
        assert read_accepted(store, n.to_bytes(4, "big")) is filler
