"""One benchmark phase's hub: its own topics and consumer group on the shared broker.

Each phase gets a fresh topic prefix and app id, so phases on the same broker never see each
other's records, tables or offsets. Workers are ``hub worker`` child processes started with
``hub.process.start_worker`` (exactly what the demo runs) and stopped by their PID.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench.loadgen import Sent, SentRecord
from hub.config import Settings
from hub.crypto import Keyring
from hub.dsa import load_directory
from hub.governance import Governance
from hub.process import start_worker, stop_process
from hub.runtime import load_registry_from
from hub.topics import plan_topics
from hub.transport import KafkaEndpoint, create_topics, kafka_endpoint, new_admin, new_producer
from hub.transport.agreements import publish_agreements

if TYPE_CHECKING:  # the client itself comes from hub.transport.new_producer
    from aiokafka import AIOKafkaProducer

ROOT = Path(__file__).resolve().parent.parent

#: Producer settings of the load generator: what the agency SDK's ``FeedProducer`` uses.
LINGER_MS = 5
MAX_BATCH_BYTES = 1_000_000
STATE, MEMBERS = 2, 5  # fields of a DescribeGroups response's group entry


@dataclass
class Phase:
    """Settings of one phase and the workers running it."""

    settings: Settings
    workdir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    peak_rss_kib: dict[int, int] = field(default_factory=dict)

    @property
    def endpoint(self) -> KafkaEndpoint:
        """The broker and its security, from the phase's settings."""
        return kafka_endpoint(self.settings)

    @property
    def group(self) -> str:
        """The workers' consumer group (faust uses the app id)."""
        return self.settings.app_id


async def prepare_phase(base: Settings, name: str, workdir: Path) -> Phase:
    """Create the phase's topics and publish the agreements to them."""
    settings = base.model_copy(
        update={
            "topic_prefix": f"bench.{name}",
            "app_id": f"bench-{name}",
            "state_dir": workdir / name,
        }
    )
    endpoint = kafka_endpoint(settings)
    await create_topics(endpoint, plan_topics(settings, load_registry_from(settings)))
    agreements = [a for _, a in load_directory(settings.deploy_dir / "agreements").agreements]
    await publish_agreements(
        endpoint,
        settings.agreements_topic,
        settings.accepted_topic,
        agreements,
        datetime.now(UTC),
        governance=Governance.from_keyring(Keyring.open(settings.keys_dir)),
    )
    return Phase(settings, workdir / name)


def start_workers(phase: Phase, count: int) -> None:
    """Start ``count`` workers in the phase's group, each with its own state directory.

    ``hub worker`` itself, as the demo starts it; with ``BENCH_FETCH_WAIT_MS`` or
    ``BENCH_SEQUENCER_LINGER_MS`` set, the ``bench.experiment`` launcher instead (a proposed
    change, measured).
    """
    for n in range(count):
        own = phase.settings.model_copy(update={"state_dir": phase.workdir / f"worker{n}"})
        log = phase.workdir / f"worker{n}.log"
        if os.environ.get("BENCH_FETCH_WAIT_MS") or os.environ.get("BENCH_SEQUENCER_LINGER_MS"):
            phase.workers.append(start_worker(own, log, "bench.experiment", ROOT))
        else:
            phase.workers.append(start_worker(own, log))


def peak_rss_kib(pid: int) -> int:
    """Peak resident set size (VmHWM) of a live process, in KiB; 0 if unknown."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a live process has used (every thread), in seconds; 0 if
    unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def workers_cpu_s(phase: Phase) -> float:
    """CPU seconds used so far by the phase's workers together."""
    return sum(cpu_seconds(proc.pid) for proc in phase.workers)


def stop_workers(phase: Phase) -> None:
    """Record each worker's peak memory, then stop it by PID."""
    for proc in phase.workers:
        phase.peak_rss_kib[proc.pid] = peak_rss_kib(proc.pid)
        stop_process(proc)
    phase.workers.clear()


def producer(endpoint: KafkaEndpoint) -> AIOKafkaProducer:
    """The load generator's producer (acks from every replica, as the SDK asks)."""
    return new_producer(
        endpoint,
        acks="all",
        linger_ms=LINGER_MS,
        max_batch_size=MAX_BATCH_BYTES,
        max_request_size=MAX_BATCH_BYTES,
    )


async def send_all(
    settings: Settings, out: AIOKafkaProducer, messages: Sequence[Sent | SentRecord]
) -> dict[tuple[str, int], int]:
    """Send every message as fast as the producer takes them; return offsets sent per partition.

    ``messages`` are a load's single-event records or its batch records (``Load.records``).
    """
    futures = [
        await out.send(
            settings.feed_topic(s.agency_id),
            s.message.value,
            key=s.message.key,
            headers=list(s.message.headers),
            partition=s.message.partition,
        )
        for s in messages
    ]
    ends: dict[tuple[str, int], int] = {}
    for meta in await asyncio.gather(*futures):
        tp = (meta.topic, meta.partition)
        ends[tp] = max(ends.get(tp, 0), meta.offset + 1)
    return ends


async def group_members(endpoint: KafkaEndpoint, group: str) -> int:
    """How many members the consumer group has now (0 when the broker cannot say)."""
    admin = new_admin(endpoint)
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group])
    except Exception:  # noqa: BLE001  # a broker without DescribeGroups: the caller waits instead
        return 0
    finally:
        await admin.close()
    groups = getattr(described[0], "groups", []) if described else []
    return sum(len(g[MEMBERS]) for g in groups if g[STATE] == "Stable")
