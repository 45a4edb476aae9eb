"""The ceiling: consume the feed topics and produce every message unchanged, nothing else.

Run by ``bench_pipeline`` as its own process, as a worker would be:
``python -m bench.passthrough GROUP OUT_TOPIC WARMUP COUNT FEED_TOPIC...``, with the broker and
its security in ``HUB_*`` variables (``hub.config.settings_env``).
One consumer group over the same feed topics (same partitions) as the hub, one output topic
shaped like the accepted topic, the producer settings of the hub's worker (acks from all
replicas, 5 ms linger) and default consumer settings. It prints ``warm`` once the first
``WARMUP`` messages are through (so the timed run starts with the group joined), then one JSON
line with the wall-clock time its last output was acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from hub.config import load_settings
from hub.transport import KafkaEndpoint, kafka_endpoint, new_consumer, new_producer

SESSION_TIMEOUT_MS = 6000  # as the hub's worker: the embedded broker holds a join for half of it
HEARTBEAT_MS = 1000


async def passthrough(
    endpoint: KafkaEndpoint, group: str, out: str, warmup: int, count: int, *feeds: str
) -> None:
    """Copy ``warmup + count`` records from ``feeds`` to ``out``; report when it finished."""
    consumer = new_consumer(
        endpoint,
        *feeds,
        group_id=group,
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=HEARTBEAT_MS,
    )
    producer = new_producer(endpoint, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    copied, pending, warm = 0, [], False
    try:
        while copied < warmup + count:
            batch = await consumer.getmany(timeout_ms=100)
            for records in batch.values():
                pending += [
                    await producer.send(out, r.value, key=r.key, headers=list(r.headers))
                    for r in records
                ]
                copied += len(records)
            if not warm and copied >= warmup:
                await asyncio.gather(*pending)
                pending, warm = [], True
                print("warm", flush=True)
        await asyncio.gather(*pending)
        finished = time.time()
        await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    print(json.dumps({"copied": copied, "finished": finished}), flush=True)


def main() -> None:
    """Command-line entry (see the module docstring)."""
    group, out, warmup, count, *feeds = sys.argv[1:]
    endpoint = kafka_endpoint(load_settings())
    asyncio.run(passthrough(endpoint, group, out, int(warmup), int(count), *feeds))


if __name__ == "__main__":
    main()
