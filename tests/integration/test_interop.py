"""A feed message made without our SDK's encoder or producer is accepted end to end.

The body is written by the Apache Software Foundation's ``avro`` package (not fastavro) and
framed single-object by hand; the event is sealed with the agency's key; librdkafka
(``confluent-kafka``) produces it with the ``vru-seal`` header. A real worker must deliver it
to the partnership's alert topic.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
import pytest
from confluent_kafka import KafkaError, Message, Producer

from hub.agency import SEAL_HEADER
from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import AGENCIES, KeyKind, Keyring, agency_owner, seal_batch
from hub.ids import uuid7
from hub.process import start_worker, stop_process
from hub.pseudonym import NationalIdentity, linkage_token
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import bootstrap_servers, create_topics, kafka_endpoint
from tests.integration.events import accepted_ids
from tests.integration.kafka import consume

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

EVENT_TYPE = "police.violent_incident"
READING_LSOA = "E01016353"


def apache_single_object(store: SchemaStore, record: dict[str, Any]) -> bytes:
    schema = avro.schema.parse(json.dumps(store.schema(EVENT_TYPE)))
    buffer = io.BytesIO()
    avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(buffer))
    return b"\xc3\x01" + store.fingerprint(EVENT_TYPE) + buffer.getvalue()


def incident(store: SchemaStore, token: str, key_id: str) -> dict[str, Any]:
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
    return {
        "envelope": {
            "event_id": uuid7(occurred, seed=b"interop|1"),
            "agency_id": "police",
            "event_type": EVENT_TYPE,
            "occurred_at": occurred,
            "recorded_at": occurred + timedelta(hours=2, minutes=24),
            "subject_token": token,
            "lsoa": READING_LSOA,
            "age": 16,
            "schema_version": store.current_version(EVENT_TYPE),
            "key_id": key_id,
        },
        "offence": "VIOLENCE_WITH_INJURY",
        "subject_role": "VICTIM",
        "weapon": "KNIFE_OR_SHARP_INSTRUMENT",
        "location_type": "STREET",
        "domestic": False,
        "exploitation_concern": True,
        "outcome": "UNDER_INVESTIGATION",
        "injury_severity": "SERIOUS",
    }


def librdkafka_send(settings: Settings, key: bytes, value: bytes, seal: bytes) -> None:
    errors: list[KafkaError] = []

    def delivered(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            errors.append(error)

    producer = Producer(
        {"bootstrap.servers": bootstrap_servers(settings.broker_url), "acks": "all"}
    )
    producer.produce(
        settings.feed_topic("police"),
        value=value,
        key=key,
        headers=[(SEAL_HEADER, seal)],
        on_delivery=delivered,
    )
    assert producer.flush(15) == 0
    assert errors == []


def test_apache_avro_bytes_sealed_and_sent_by_librdkafka_reach_the_partnership(
    hub_settings: Settings, tmp_path: Path
) -> None:
    s = hub_settings
    registry = load_registry(s.deploy_dir / "registry.yaml")
    asyncio.run(create_topics(kafka_endpoint(s), plan_topics(s, registry)))
    store = SchemaStore.load(s.schemas_dir)
    keyring = Keyring.open(s.keys_dir)
    signing = keyring.signing_key(agency_owner("police"))
    linkage = keyring.hmac_key(AGENCIES, KeyKind.LINKAGE)
    token = linkage_token(NationalIdentity("nhs", "9434765919"), linkage).text
    record = incident(store, token, signing.key_id)
    value = apache_single_object(store, record)
    assert store.decode(value).record["envelope"]["event_id"] == record["envelope"]["event_id"]
    (seal,) = seal_batch([value], signing, "police")
    librdkafka_send(s, token.encode(), value, seal.to_bytes())

    worker = start_worker(s, tmp_path / "worker.log")
    try:
        accepted = asyncio.run(consume(s, [s.accepted_topic], until=1, timeout_s=45))
        quarantined = asyncio.run(consume(s, [s.quarantine_topic], until=1, timeout_s=2))
    finally:
        assert stop_process(worker) == 0
    assert accepted_ids(accepted) == [record["envelope"]["event_id"]]
    assert quarantined == []
