"""The peer floor: the hub's shape in plain aiokafka, with no faust and no domain work.

Run by ``bench_pipeline`` as its own process, as a worker would be, with the broker and its
security in ``HUB_*`` variables: ``python -m bench.peer_floor GROUP WARMUP COUNT``. It does per
record what ``bench.faust_floor topology`` does with faust, the way a Python engineer would
write it on aiokafka alone (a batch loop over ``getmany``):

* **ingest**: consume every feed topic; remember each record's position in a dict (the
  de-duplication state) and write it to the ``seen-events`` changelog; re-key the record to the
  accepted topic (the partition of its key);
* **correlate**: consume the accepted topic; hold each record under its key (the per-subject
  state) and write it to the ``subjects`` changelog.

Two consumes and three produces per record, each stage committing a batch only once every
write it caused is acknowledged (at-least-once, as the hub). It prints ``warm`` once the first
``WARMUP`` records are through correlation, then one JSON line with the wall-clock time the
last of ``WARMUP + COUNT`` was acknowledged, and keeps running until stopped.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable

from hub.config import Settings, load_settings
from hub.runtime import load_registry_from
from hub.transport import (
    ConsumerRecord,
    KafkaConsumer,
    kafka_endpoint,
    new_consumer,
    new_producer,
)
from hub.transport.partitioner import partition_for

SESSION_TIMEOUT_MS = 6000  # as the hub's worker (see bench.passthrough)
HEARTBEAT_MS = 1000
Sends = list[Awaitable[asyncio.Future[object]]]


async def run_stage(
    consumer: KafkaConsumer,
    stage: Callable[[ConsumerRecord[bytes, bytes]], Sends],
    done: Callable[[int], None],
) -> None:
    """Consume batches for ever; send what each record causes, commit once it is acknowledged."""
    while True:
        batch = await consumer.getmany(timeout_ms=100)
        sends = [send for records in batch.values() for r in records for send in stage(r)]
        if not sends:
            continue
        acks = [await send for send in sends]
        await asyncio.gather(*acks)
        await consumer.commit()
        done(sum(len(records) for records in batch.values()))


async def peer_floor(settings: Settings, group: str, warmup: int, count: int) -> None:
    """Run both stages until ``warmup + count`` records went through correlation."""
    endpoint = kafka_endpoint(settings)
    feeds = [settings.feed_topic(a.id) for a in load_registry_from(settings).agencies]
    accepted = settings.accepted_topic
    seen_log = settings.changelog_topic("seen-events")
    subjects_log = settings.changelog_topic("subjects")
    n = settings.partitions
    options = {
        "auto_offset_reset": "earliest",
        "enable_auto_commit": False,
        "session_timeout_ms": SESSION_TIMEOUT_MS,
        "heartbeat_interval_ms": HEARTBEAT_MS,
    }
    ingest_in = new_consumer(endpoint, *feeds, group_id=f"{group}-ingest", **options)
    correlate_in = new_consumer(endpoint, accepted, group_id=f"{group}-correlate", **options)
    out = new_producer(endpoint, acks="all", linger_ms=5)
    seen: dict[str, bytes] = {}
    subjects: dict[bytes, bytes] = {}

    def ingest(r: ConsumerRecord[bytes, bytes]) -> Sends:
        key = r.key or b""
        position = f"{r.topic}:{r.partition}:{r.offset}"
        seen[position] = key
        return [
            out.send(seen_log, key, key=position.encode(), partition=r.partition),
            out.send(accepted, r.value, key=key, partition=partition_for(key, n)),
        ]

    def correlate(r: ConsumerRecord[bytes, bytes]) -> Sends:
        key = r.key or b""
        subjects[key] = r.value or b""
        return [out.send(subjects_log, r.value, key=key, partition=r.partition)]

    through = 0

    def counted(records: int) -> None:
        nonlocal through
        before, through = through, through + records
        if before < warmup <= through:
            print("warm", flush=True)  # read by bench_pipeline
        if before < warmup + count <= through:
            print(json.dumps({"copied": through, "finished": time.time()}), flush=True)

    await out.start()
    await ingest_in.start()
    await correlate_in.start()
    try:
        await asyncio.gather(
            run_stage(ingest_in, ingest, lambda _: None),
            run_stage(correlate_in, correlate, counted),
        )
    finally:
        await ingest_in.stop()
        await correlate_in.stop()
        await out.stop()


def main() -> None:
    """Command-line entry (see the module docstring)."""
    group, warmup, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    asyncio.run(peer_floor(load_settings(), group, warmup, count))


if __name__ == "__main__":
    main()
