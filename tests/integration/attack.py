"""What the attack and fuzz tests share: a running hub worker, its counters and log, and what a
partnership received about one subject.

The attacker in these tests holds no key: it writes with a plain aiokafka producer
(``tests.integration.kafka.produce``, or :func:`produce_raw` for keys, partitions and headers
of its choosing), using only what is public (the record formats in ``hub.crypto.record``,
the topic names).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord
from prometheus_client.parser import text_string_to_metric_families

from agents.headers import header_items
from hub.alerts import AlertRecord, OpenedAlert, open_alert
from hub.broker import EmbeddedBroker, free_port
from hub.config import Settings
from hub.crypto import HUB, KeyKind, Keyring, partnership_owner
from hub.errors import HubError
from hub.feeds.synthetic import synth_valid_fields
from hub.ids import uuid7
from hub.process import start_worker, stop_process
from hub.pseudonym import parse_token, pseudonym
from hub.transport import bootstrap_servers, kafka_endpoint, new_producer
from tests.integration.events import READING_LSOA, STORE, Message, sealed, token_for
from tests.integration.flows import SCENARIO, prepare
from tests.integration.kafka import consume, produce
from tests.settings import unique_settings

#: Headers, keys and partitions as a producer chooses them (None: the producer's default).
Raw = tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]], int | None]


def attack_settings(broker: EmbeddedBroker, root: Path) -> Settings:
    """Unique topics and group, a dev keyring, metrics on, fast heads and heartbeats."""
    return unique_settings(broker.url, root).model_copy(
        update={"metrics_port": free_port(), "head_interval_s": 1.0, "alert_heartbeat_s": 1.0}
    )


@dataclass
class RunningHub:
    """One ``hub worker`` subprocess on the test broker, and what it says about itself."""

    settings: Settings
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None)

    def start(self) -> None:
        """Start the worker and wait until it is ready (tables recovered, partitions held)."""
        self.proc = start_worker(self.settings, self.log)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.alive(), self.tail()
            if self.get("/readyz")[0] == 200:
                return
            time.sleep(0.3)
        raise AssertionError(f"the worker did not get ready\n{self.tail()}")

    def stop(self) -> int:
        """Stop the worker (SIGTERM); its exit code."""
        assert self.proc is not None
        return stop_process(self.proc)

    def alive(self) -> bool:
        """The process runs and (once it listens) its liveness probe answers 200."""
        if self.proc is None or self.proc.poll() is not None:
            return False
        status, _ = self.get("/healthz")
        return status in {200, 0}  # 0: not listening yet, which a starting worker may be

    def get(self, path: str) -> tuple[int, str]:
        """Status and body of the worker's monitoring endpoint (0: no answer)."""
        url = f"http://127.0.0.1:{self.settings.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def refused(self, topic: str, reason: str | None = None) -> float:
        """``vru_records_refused_total`` for ``topic`` (one reason, or all of them)."""
        _, text = self.get("/metrics")
        total = 0.0
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name != "vru_records_refused_total" or s.labels.get("topic") != topic:
                    continue
                if reason is None or s.labels.get("reason") == reason:
                    total += s.value
        return total

    def lines(self, event: str) -> list[dict[str, Any]]:
        """The worker's JSON log lines of one event (``record_refused``, ...)."""
        found = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if f'"{event}"' not in line:
                continue
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if parsed.get("event") == event:
                found.append(parsed)
        return found

    def tail(self) -> str:
        """The end of the worker's log, for a failure message."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


def wait_for(check: Any, timeout_s: float, what: str) -> None:
    """Poll ``check()`` until it holds; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out: {what}")


async def produce_raw(settings: Settings, topic: str, records: Iterable[Raw]) -> None:
    """Write (key, value, headers, partition) records as they are, with one plain producer."""
    producer = new_producer(
        kafka_endpoint(settings), acks="all", linger_ms=5, max_request_size=1_048_000
    )
    await producer.start()
    try:
        pending = [
            await producer.send(topic, value, key=key, headers=headers, partition=partition)
            for key, value, headers, partition in records
        ]
        for sent in pending:
            await sent
    finally:
        await producer.stop()


def subject_pseudonym(settings: Settings, partnership: str, subject: int) -> str:
    """What ``partnership`` calls test subject ``subject`` (its own pseudonym)."""
    key = Keyring.open(settings.keys_dir).hmac_key(
        partnership_owner(partnership), KeyKind.PSEUDONYM
    )
    return pseudonym(parse_token(token_for(subject)), key).text


async def alerts_about(
    settings: Settings, partnership: str, subject: int, count: int, timeout_s: float
) -> list[OpenedAlert]:
    """The partnership's alerts about ``subject`` once ``count`` arrived (or time is up)."""
    who = subject_pseudonym(settings, partnership, subject)
    deadline = time.monotonic() + timeout_s
    while True:
        records = await consume(
            settings, [settings.alert_topic(partnership)], until=10**6, timeout_s=1.5
        )
        mine = [a for a in opened(settings, partnership, records) if a.body.subject == who]
        if len(mine) >= count or time.monotonic() > deadline:
            return mine


def opened(
    settings: Settings, partnership: str, records: list[ConsumerRecord[bytes, bytes]]
) -> list[OpenedAlert]:
    """The records that open as the partnership's alerts; the rest (forgeries) left out, as the
    partnership's own reader leaves them out."""
    keyring = Keyring.open(settings.keys_dir)
    private = keyring.hpke_key(partnership_owner(partnership))
    found = []
    for r in records:
        record = AlertRecord(r.key or b"", r.value or b"", header_items(r.headers))
        try:
            alert = open_alert(record, partnership, private, keyring.verify_keys(HUB))
        except HubError:
            continue
        if isinstance(alert, OpenedAlert):
            found.append(alert)
    return found


def dated(
    settings: Settings, event_type: str, agency: str, seeds: tuple[int, int], **fields: Any
) -> tuple[Message, str]:
    """A sealed event about subject ``seeds[0]`` (event seed ``seeds[1]``) that occurred
    ``fields.pop("days_ago", 3)`` days before now, in ``fields.pop("lsoa", READING_LSOA)``.

    Dated relative to the clock, never fixed, its synthetic fields made for that time (so
    a return date never precedes the episode); the other ``fields`` replace the event's own.
    """
    subject, seed = seeds
    occurred = datetime.now(UTC) - timedelta(days=fields.pop("days_ago", 3))
    lsoa = fields.pop("lsoa", READING_LSOA)
    envelope = {
        "event_id": uuid7(occurred, seed=f"{event_type}|{seed}".encode()),
        "agency_id": agency,
        "occurred_at": occurred,
        "recorded_at": occurred + timedelta(minutes=1),
        "subject_token": token_for(subject),
        "lsoa": lsoa,
        "age": 15,
        "key_id": "unset",
    }
    rng = random.Random(seed)  # reproducible synthetic data, not a secret
    body = synth_valid_fields(event_type, STORE.schema(event_type), rng, occurred) | fields
    rec = {"envelope": envelope, **body}
    return sealed(settings, agency, [(event_type, rec)])[0], str(envelope["event_id"])


async def genuine_flow(settings: Settings, subject: int, lsoa: str = READING_LSOA) -> list[str]:
    """The flows scenario's four sealed events for ``subject`` in ``lsoa``, dated relative to
    now, sent as the agencies send them; their event ids. They raise child-exploitation and
    weapon-and-exclusion for the area's partnership."""
    ids = []
    for n, (event_type, agency, fields) in enumerate(SCENARIO):
        seeds = (subject, subject * 10 + n)
        message, event_id = dated(
            settings, event_type, agency, seeds, days_ago=10 - n, lsoa=lsoa, **fields
        )
        await produce(settings, settings.feed_topic(agency), [message])
        ids.append(event_id)
    return ids


def prepared_hub(broker: EmbeddedBroker, root: Path) -> RunningHub:
    """Topics and agreements made, the worker not started yet."""
    settings = attack_settings(broker, root)
    asyncio.run(prepare(settings))
    return RunningHub(settings, root / "worker.log")


_BAD_NAMES = """
import asyncio, os, sys

from aiokafka import AIOKafkaProducer

class Undecodable(str):
    def encode(self, *args, **kwargs):  # a header name no client can decode
        return b"\\xff\\xfe" + super().encode()

async def main(url, topic, count):
    producer = AIOKafkaProducer(bootstrap_servers=url)
    await producer.start()
    for n in range(count):
        await producer.send_and_wait(topic, b"v%d" % n, key=b"k", partition=0,
                                     headers=[(Undecodable("vru-seq"), b"1")])
    await producer.stop()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def produce_undecodable(settings: Settings, topic: str, count: int = 1) -> None:
    """Records whose header name is not UTF-8, to partition 0 of ``topic``.

    A plain aiokafka producer writes them once its pure-Python record builder is used (the
    compiled one refuses such a name); the broker accepts them. PLAINTEXT only (the test
    brokers).
    """
    broker_url = settings.broker_url
    subprocess.run(  # fixed argument list: this interpreter and a script of ours
        [sys.executable, "-c", _BAD_NAMES, bootstrap_servers(broker_url), topic, str(count)],
        env={**os.environ, "AIOKAFKA_NO_EXTENSIONS": "1"},
        check=True,
        timeout=60,
    )
