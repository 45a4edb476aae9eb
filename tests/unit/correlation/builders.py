"""A correlation service over dict tables, and accepted records for it, built relative to now."""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.alerts import AlertBody, AlertKind
from hub.config import Settings
from hub.consent.ledger import ConsentLedger
from hub.correlation import Correlation, Received, Result, Tables, Wiring
from hub.crypto import Keyring, alert_info, create_dev_keyring, partnership_owner
from hub.crypto.record import Kind, Place, parse
from hub.crypto.trust import seal_record
from hub.disclosure import FeedMark
from hub.dsa import encode_agreement_message
from hub.errors import ConsentError
from hub.models import Event, validate_event
from hub.policy import PolicyClock, Switch
from hub.registry import Registry
from hub.runtime import load_correlator, load_worker_keys
from hub.sequencer import Pending
from hub.transport.partitioner import partition_for
from tests import shipped
from tests.integration.events import READING_LSOA, STORE, record, token_for
from tests.unit.consent.builders import consent_body

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime.now(UTC).replace(microsecond=0)
"""The decision time of every record a test builds (events are days before it)."""
PARTITIONS = 2


def settings_in(root: Path) -> Settings:
    """Settings over the shipped deploy and schemas, a dev keyring made a day ago."""
    create_dev_keyring(root / "keys", shipped.registry(), NOW - timedelta(days=1))
    return Settings(
        deploy_dir=ROOT / "deploy",
        schemas_dir=ROOT / "schemas",
        data_dir=ROOT.parent / "shared" / "data",
        keys_dir=root / "keys",
        partitions=PARTITIONS,
    )


def shipped_deploy(settings: Settings) -> Registry:
    """The shipped registry, which ``settings`` must read from: the agreements and registry
    the builders use are ``tests/shipped.py``'s, read once."""
    assert settings.deploy_dir.resolve() == shipped.ROOT / "deploy", settings.deploy_dir
    return shipped.registry()


def agreements_published(settings: Settings) -> tuple[PolicyClock, int]:
    """A clock with every shipped agreement published (none switched to) and its last sequence."""
    shipped_deploy(settings)
    clock = PolicyClock()
    agreements = sorted(shipped.agreements(), key=lambda a: (a.id, a.version))
    for sequence, agreement in enumerate(agreements, start=1):
        clock.publish(encode_agreement_message(agreement, sequence, NOW - timedelta(hours=1)))
    return clock, len(agreements)


class Barrier:
    """The consent feeds as a test holds them: ends by subject, a watermark per call."""

    def __init__(self) -> None:
        self.ends: dict[str, list[Event]] = {}
        self.watermarks = 0

    async def watermark(self) -> tuple[FeedMark, ...]:
        self.watermarks += 1
        read = sum(len(e) for e in self.ends.values())
        return (FeedMark(topic="feed.voluntary-sector", partition=0, offset=read),)

    def fold(
        self,
        token: str,
        ledger: ConsentLedger,
        at: datetime,
        below: Iterable[FeedMark] | None = None,
    ) -> ConsentLedger:
        for end in self.ends.get(token, []):
            with suppress(ConsentError):
                ledger = ledger.apply(end, at)
        return ledger


@dataclass
class Hub:
    """One worker's correlation over dict tables, with every shipped agreement in force."""

    settings: Settings
    switched: bool = True
    consent: Barrier | None = None
    subjects: dict[bytes, bytes] = field(default_factory=dict)
    sna: dict[bytes, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        registry = shipped_deploy(self.settings)
        self.keyring = Keyring.open(self.settings.keys_dir)
        self.keys = load_worker_keys(self.settings, self.keyring)
        correlator = load_correlator(self.settings, registry, self.keyring)
        self.clock, self.last = agreements_published(self.settings)
        if self.switched:
            for partition in range(self.settings.partitions):
                self.clock.switch(partition, Switch(self.last))
        wiring = Wiring(self.settings, correlator, registry, self.clock, self.keys, self.consent)
        self.service = Correlation(wiring, Tables(self.subjects, self.sna), now=lambda: NOW)

    async def run(self, received: Received) -> Result:
        """Process a record and store its rows, as the agent does."""
        result = await self.service.process(received)
        self.store(result)
        return result

    def store(self, result: Result) -> None:
        """Write the result's rows into the dict tables."""
        for row in result.rows:
            table = self.subjects if row.table == "subjects" else self.sna
            table[row.key] = row.value

    def sealed(self, items: tuple[bytes, ...], partition: int, kind: Kind = Kind.EVENTS) -> bytes:
        """An accepted record MACed by the hub for ``partition``."""
        place = Place(self.settings.accepted_topic, partition)
        return seal_record(kind, NOW, items, place, self.keys.internal)

    def alerts(self, result: Result) -> list[tuple[str, str, AlertBody]]:
        """(partnership, alert id, opened body) of every alert the result's outbox carries."""
        found = []
        for outgoing in result.outbox:
            for item in parse(outgoing.value).items:
                pending = Pending.from_bytes(item)
                pid = pending.partnership_id
                key = self.keyring.hpke_key(partnership_owner(pid))
                body = key.open(pending.value, alert_info(pid, pending.alert_id))
                found.append((pid, pending.alert_id, AlertBody.from_bytes(body)))
        return found


def in_partition(partition: int, count: int, first: int = 1) -> list[int]:
    """``count`` subject seeds whose tokens land in ``partition``."""
    seeds = (n for n in range(first, first + 1000))
    return [n for n in seeds if partition_for(token_for(n).encode(), PARTITIONS) == partition][
        :count
    ]


def item(event_type: str, agency: str, seed: int, days_ago: float, **extra: Any) -> bytes:
    """An accepted item (the event's Avro bytes) for subject ``seed``, ``days_ago`` before now.

    ``extra`` may name body ``fields``, ``lsoa``, ``subject`` (another subject's seed) and
    ``n`` (a distinct event of the same subject and type).
    """
    subject = extra.pop("subject", seed)
    rec = record(
        event_type,
        agency,
        extra.pop("lsoa", READING_LSOA),
        seed * 100 + extra.pop("n", 0),
        occurred=NOW - timedelta(days=days_ago),
        fields=extra.pop("fields", None),
        subject_token=token_for(subject),
    )
    rec["envelope"]["key_id"] = "k1"
    return STORE.encode(event_type, rec)


def scenario(seed: int) -> list[bytes]:
    """One young person's four events raising child-exploitation and weapon-and-exclusion."""
    return [
        item("csc.missing_episode", "childrens-social-care", seed, 10, n=0),
        item(
            "csc.exploitation_screening",
            "childrens-social-care",
            seed,
            9,
            n=1,
            fields={"exploitation_type": "CRIMINAL"},
        ),
        item("police.weapon_possession", "police", seed, 8, n=2),
        item("education.suspension", "education", seed, 7, n=3),
    ]


def assault(seed: int, days_ago: int) -> bytes:
    """An area-level ED assault in Reading (no subject)."""
    rec = record(
        "health.ed_assault",
        "health",
        READING_LSOA,
        seed,
        occurred=(NOW - timedelta(days=days_ago)).replace(hour=21, minute=0, second=0),
    )
    rec["envelope"]["key_id"] = "k1"
    return STORE.encode("health.ed_assault", rec)


def consent_event(seed: int, consent_id: str, *, given: bool, minutes_ago: int = 60) -> bytes:
    """A consent.given or consent.withdrawn from the voluntary sector for subject ``seed``."""
    event_type = "consent.given" if given else "consent.withdrawn"
    rec = record(
        event_type,
        "voluntary-sector",
        READING_LSOA,
        seed * 100 + (90 if given else 91),
        subject_token=token_for(seed),
    )
    at = NOW - timedelta(minutes=minutes_ago)
    rec["envelope"] |= {"occurred_at": at, "recorded_at": at, "key_id": "k1"}
    return STORE.encode(
        event_type, {"envelope": rec["envelope"], **consent_body(event_type, consent_id)}
    )


def event_of(value: bytes) -> Event:
    """The validated event an item holds."""
    return validate_event(STORE.decode(value), clock=None)


def events(items: list[bytes], offset: int = 10, partition: int = 0) -> Received:
    """An accepted record of these events at ``offset`` of ``partition``, made now."""
    return Received(Kind.EVENTS, tuple(items), NOW, partition, offset)


def decisions(result: Result) -> list[dict[str, Any]]:
    """The decision records a result sends, as JSON."""
    return [json.loads(i) for r in result.decisions for i in parse(r.value).items]


def kinds(hub: Hub, result: Result) -> list[tuple[str, str, AlertKind]]:
    """Each alert a result sends: its partnership, rule and kind."""
    return [(pid, body.rule.id, body.kind) for pid, _, body in hub.alerts(result)]
