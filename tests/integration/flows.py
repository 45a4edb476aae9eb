"""A running hub for integration tests: topics, agreements, a worker, and alert reading."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord

from hub.alerts import AlertRecord, Heartbeat, OpenedAlert, open_alert
from hub.config import Settings
from hub.crypto import HUB, KeyKind, Keyring, partnership_owner
from hub.crypto.record import Kind, Place
from hub.crypto.trust import seal_record
from hub.dsa import load_directory
from hub.governance import Governance
from hub.process import start_worker
from hub.registry import load_registry
from hub.topics import plan_topics
from hub.transport import create_topics, kafka_endpoint
from hub.transport.agreements import publish_agreements
from tests.integration.events import READING_LSOA, STORE, Message, record, sealed, token_for

#: One young person's events from three agencies in Reading: a missing episode and an
#: exploitation screening (children's social care), weapon possession (police) and a
#: suspension (education). They raise child-exploitation and weapon-and-exclusion.
SCENARIO = (
    ("csc.missing_episode", "childrens-social-care", {}),
    ("csc.exploitation_screening", "childrens-social-care", {"exploitation_type": "CRIMINAL"}),
    ("police.weapon_possession", "police", {}),
    ("education.suspension", "education", {}),
)


async def prepare(settings: Settings, publisher: Settings | None = None) -> None:
    """Create every topic and publish the shipped agreements (with switch markers), signed by
    information governance: as ``publisher`` (its broker login and keyring) when given."""
    registry = load_registry(settings.deploy_dir / "registry.yaml")
    await create_topics(kafka_endpoint(settings), plan_topics(settings, registry))
    agreements = [a for _, a in load_directory(settings.deploy_dir / "agreements").agreements]
    publisher = publisher or settings
    await publish_agreements(
        kafka_endpoint(publisher),
        settings.agreements_topic,
        settings.accepted_topic,
        agreements,
        datetime.now(UTC),
        governance=governance(publisher),
    )


def governance(settings: Settings) -> Governance:
    """Information governance's signing key and trusted keys, from the test's keyring."""
    return Governance.from_keyring(Keyring.open(settings.keys_dir))


def scenario(settings: Settings, subject: int, lsoa: str) -> list[tuple[str, Message]]:
    """The scenario's events for subject ``subject`` in ``lsoa``, as (agency, sealed message)."""
    now = datetime.now(UTC)
    return [
        (agency, sealed(settings, agency, [(event_type, rec)])[0])
        for agency, event_type, rec in (scenario_step(subject, lsoa, n, now) for n in STEPS)
    ]


STEPS = range(len(SCENARIO))


def scenario_step(
    subject: int, lsoa: str, step: int, now: datetime
) -> tuple[str, str, dict[str, Any]]:
    """Step ``step`` of the scenario for subject ``subject`` in ``lsoa``, ten days before
    ``now`` plus a day per step: (agency, event type, record to seal)."""
    event_type, agency, fields = SCENARIO[step]
    rec = record(
        event_type,
        agency,
        lsoa,
        subject * 100 + step,
        occurred=now - timedelta(days=10 - step),
        fields=fields,
        subject_token=token_for(subject),
    )
    return agency, event_type, rec


def scenario_record(
    settings: Settings, seeds: list[int], steps: range, at: datetime, partition: int
) -> tuple[bytes, set[str]]:
    """One accepted record, sealed for ``partition`` as ingest seals it, of the scenario's
    ``steps`` for each subject in ``seeds`` (interleaved, in Reading); and the events' ids."""
    items, ids = [], set()
    for n in steps:
        for seed in seeds:
            _, event_type, rec = scenario_step(seed, READING_LSOA, n, at)
            rec["envelope"]["key_id"] = "accepted-test"
            items.append(STORE.encode(event_type, rec))
            ids.add(str(rec["envelope"]["event_id"]))
    internal = Keyring.open(settings.keys_dir).hmac_key(HUB, KeyKind.INTERNAL)
    place = Place(settings.accepted_topic, partition)
    return seal_record(Kind.EVENTS, at, tuple(items), place, internal), ids


def open_records(
    settings: Settings, partnership: str, records: list[ConsumerRecord[bytes, bytes]]
) -> list[OpenedAlert]:
    """Verify and decrypt a partnership's records with its dev key; heartbeats left out."""
    keyring = Keyring.open(settings.keys_dir)
    opened = []
    for r in records:
        alert = open_alert(
            AlertRecord(r.key or b"", r.value or b"", tuple(r.headers)),
            partnership,
            keyring.hpke_key(partnership_owner(partnership)),
            keyring.verify_keys(HUB),
        )
        if not isinstance(alert, Heartbeat):
            opened.append(alert)
    return opened


def alerts_only(records: list[ConsumerRecord[bytes, bytes]]) -> list[ConsumerRecord[bytes, bytes]]:
    """Records that are not heartbeats."""
    return [r for r in records if dict(r.headers).get("ce_type") != b"vru.heartbeat"]


def worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """Start ``hub worker`` for ``settings``."""
    return start_worker(settings, log)
