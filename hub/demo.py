"""``hub demo``: the whole hub on one machine, from a fresh clone, in about a minute.

Starts the embedded broker on a free loopback port, creates the topics, starts ``hub worker``
as a child process, replays agency feeds, and prints what each partnership receives. It stops
by itself (deadline, or once every event is accounted for and the stream is quiet) or on
Ctrl-C, and always stops the processes it started, by PID. Its last line is a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from hub.alerts import AlertRecord, Heartbeat, OpenedAlert, open_alert
from hub.alerts.perflag import PerFlag
from hub.broker import EmbeddedBroker
from hub.cli.sna import council_names, make_release, record_release, write_release
from hub.cli.sna import summary as summary_of
from hub.config import EMBEDDED_FETCH_MAX_WAIT_MS, Settings
from hub.crypto import HUB, Keyring, create_dev_keyring, partnership_owner
from hub.dsa import load_directory
from hub.errors import HubError
from hub.feeds.demo import DemoFeed, build_demo_feed
from hub.governance import Governance
from hub.process import start_worker, stop_process
from hub.quarantine import QuarantineRecord
from hub.runtime import load_registry_from
from hub.sna import Period
from hub.topics import plan_topics
from hub.transport import (
    ConsumerRecord,
    create_topics,
    kafka_endpoint,
    new_consumer,
    new_producer,
    translated,
)
from hub.transport.agreements import publish_agreements

QUIET_S = 8.0
SHOWN_PER_PARTNERSHIP = 3

Echo = Callable[[str], None]


def _echo(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run_demo(settings: Settings, seconds: float, echo: Echo = _echo) -> int:
    """Run the demo; return the process exit code."""
    workdir = settings.state_dir / "demo"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    summary: dict[str, object] = {"events_sent": 0, "alerts_delivered": {}, "quarantined": 0}
    try:
        with EmbeddedBroker(log_path=workdir / "broker.log") as broker:
            echo(f"embedded broker on {broker.address} (pid {broker.pid})")
            keys_dir = workdir / "keys"
            keyring = create_dev_keyring(keys_dir, load_registry_from(settings), datetime.now(UTC))
            echo(f"development keyring in {keys_dir} (agency signing keys, linkage key)")
            feed = build_demo_feed(settings, workdir, echo, keyring)
            live = settings.model_copy(
                update={
                    "broker_url": broker.url,
                    "kafka_security_protocol": "PLAINTEXT",  # its own loopback broker
                    "fetch_max_wait_ms": EMBEDDED_FETCH_MAX_WAIT_MS,  # the embedded broker's
                    "data_dir": feed.data_dir,
                    "state_dir": workdir,
                    "keys_dir": keys_dir,
                }
            )
            topics = plan_topics(live, load_registry_from(live))
            asyncio.run(create_topics(kafka_endpoint(live), topics))
            refs = asyncio.run(_publish_agreements(live))
            echo(f"published {len(refs)} agreement versions: {', '.join(refs)}")
            worker = start_worker(live, workdir / "worker.log")
            echo(f"hub worker started (pid {worker.pid}); log: {workdir / 'worker.log'}")
            try:
                summary = asyncio.run(_drive(live, feed, time.monotonic() + seconds, echo))
                try:
                    summary["sna_release"] = _release(live, workdir, echo)
                except HubError as exc:
                    echo(f"SNA release not made: {exc}")
            except KeyboardInterrupt:
                echo("interrupted: stopping the worker and the broker")
            finally:
                code = stop_process(worker)
                echo(f"hub worker stopped (exit {code})")
        echo("embedded broker stopped")
    finally:
        signal.signal(signal.SIGTERM, previous)
    echo(json.dumps(summary, sort_keys=True))
    return 0


async def _publish_agreements(settings: Settings) -> list[str]:
    agreements = [a for _, a in load_directory(settings.deploy_dir / "agreements").agreements]
    refs, _ = await publish_agreements(
        kafka_endpoint(settings),
        settings.agreements_topic,
        settings.accepted_topic,
        agreements,
        datetime.now(UTC),
        governance=Governance.from_keyring(Keyring.open(settings.keys_dir)),
    )
    return refs


def _release(settings: Settings, workdir: Path, echo: Echo) -> dict[str, object]:
    """The strategic needs assessment for last month to today: its headline and report."""
    today = datetime.now(UTC).date()
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    keyring = Keyring.open(settings.keys_dir)
    release = make_release(settings, (Period(start, today), "council"), keyring)
    asyncio.run(record_release(settings, keyring, release.record))
    report = workdir / "sna-report.html"
    write_release(release, report, "html", council_names(load_registry_from(settings)))
    headline = summary_of(release)
    echo(
        f"SNA release {release.release_id[:12]} ({start} to {today}, by council):"
        f" {headline['counted']} events from every agency counted under the agreements,"
        f" {headline['suppressed']} figures suppressed; signed and in the ledger as"
        f" {headline['ledger_id'][:16]}"
    )
    echo(f"  report: {report}")
    return {k: headline[k] for k in ("release_id", "counted", "suppressed")} | {
        "report": str(report)
    }


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Tally:
    """What the demo has seen on the partnership and quarantine topics."""

    def __init__(self, settings: Settings, alert_topics: dict[str, str], echo: Echo) -> None:
        self.alert_topics = alert_topics
        self.keyring = Keyring.open(settings.keys_dir)
        self.delivered: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.per_flag = PerFlag()
        self.quarantined: Counter[str] = Counter()
        self._echo = echo

    def see(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """Count one record and print the first alerts of each partnership; False for heartbeats."""
        partnership = self.alert_topics.get(record.topic)
        if partnership is None:
            self.quarantined[QuarantineRecord.from_bytes(record.value or b"").reason] += 1
            return True
        opened = open_alert(
            AlertRecord(record.key or b"", record.value or b"", tuple(record.headers)),
            partnership,
            self.keyring.hpke_key(partnership_owner(partnership)),
            self.keyring.verify_keys(HUB),
        )
        if isinstance(opened, Heartbeat):
            return False
        self.delivered[partnership] += 1
        self.kinds[opened.body.kind.value] += 1
        self.per_flag.add(partnership, opened.body.flag_id, opened.body.kind)
        if self.delivered[partnership] <= SHOWN_PER_PARTNERSHIP:
            self._show(partnership, opened)
        return True

    def _show(self, partnership: str, alert: OpenedAlert) -> None:
        body = alert.body
        self._echo(
            f"  [{partnership}] #{alert.seq} {body.kind.value}: {body.rule.title}"
            f" ({body.severity}), subject …{body.subject[-10:]}"
        )
        for event in body.events:
            fields = ", ".join(f"{k}={v}" for k, v in event.fields.items())
            self._echo(f"      {event.date} {event.type} from {event.agency} {fields}".rstrip())
        self._echo(f"      ask: {', '.join(body.ask)}; under {', '.join(body.agreements)}")

    def report(self) -> None:
        """Totals per partnership and quarantine reasons."""
        self._echo("alerts per partnership (decrypted with each partnership's own key):")
        for partnership in sorted(set(self.alert_topics.values())):
            self._echo(f"  {partnership:20} {self.delivered[partnership]:6}")
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(self.kinds.items()))
        self._echo(f"by kind: {kinds or 'none'}")
        self._echo("alerts per flag (each partnership counts the flags it was told of):")
        for line in self.per_flag.lines():
            self._echo(line)
        if self.quarantined:
            reasons = ", ".join(f"{r}={n}" for r, n in sorted(self.quarantined.items()))
            self._echo(f"quarantined: {reasons}")


async def _drive(
    settings: Settings, feed: DemoFeed, deadline: float, echo: Echo
) -> dict[str, object]:
    registry = load_registry_from(settings)
    tally = Tally(settings, {settings.alert_topic(p.id): p.id for p in registry.partnerships}, echo)
    endpoint = kafka_endpoint(settings)
    consumer = new_consumer(
        endpoint,
        *tally.alert_topics,
        settings.quarantine_topic,
        auto_offset_reset="earliest",
        group_id=None,
    )
    producer = new_producer(endpoint, linger_ms=5, acks="all")
    try:
        async with translated(endpoint, "replay the demo feeds"):
            await consumer.start()
            await producer.start()
            for agency_id, message in feed.records:  # one Kafka record per sealed batch
                await producer.send(
                    settings.feed_topic(agency_id),
                    message.value,
                    key=message.key,
                    headers=list(message.headers),
                    partition=message.partition,
                )
            await producer.flush()
            echo(
                f"sent {len(feed.messages)} events from {len(feed.agencies)} agencies"
                f" in {len(feed.records)} batch records"
            )
            echo(f"  {feed.describe()}")
            last_seen: float | None = None  # quiet time counts only once alerts have started
            while time.monotonic() < deadline and (
                last_seen is None or time.monotonic() - last_seen < QUIET_S
            ):
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        if tally.see(record):
                            last_seen = time.monotonic()
    finally:
        await producer.stop()
        await consumer.stop()
    tally.report()
    return {
        "events_sent": len(feed.messages),
        "alerts_delivered": dict(sorted(tally.delivered.items())),
        "quarantined": sum(tally.quarantined.values()),
    }
