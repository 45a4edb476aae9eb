"""``hub worker`` with a proposed change applied in its own process, to measure it first.

Not a production path: the benchmark starts this instead of ``hub worker`` only when one of
these is set (``docs/benchmarks.md``):

* ``BENCH_FETCH_WAIT_MS``: the worker consumer's fetch wait. The embedded broker answers a
  fetch only when that wait has run out, even when records arrive meanwhile, so every hop
  between two agents can wait that long. The worker now reads it from
  ``HUB_FETCH_MAX_WAIT_MS`` (100 ms by default, 20 ms in the benchmark on the embedded
  broker, ``hub.config.EMBEDDED_FETCH_MAX_WAIT_MS``; faust's own is 1500 ms), so this only
  sets that variable.
* ``BENCH_SEQUENCER_LINGER_MS``: the sequencer sends each alert with ``send_and_wait`` on the
  app's producer (5 ms linger). This gives it a producer of its own with this linger,
  still one record per request and waiting for each.

Then it runs the worker exactly as ``hub worker`` does.
"""

from __future__ import annotations

import os
from typing import Any

import aiokafka


def _patch_sequencer(linger_ms: int) -> None:
    from agents import sequence  # noqa: PLC0415  # only in this experiment's process
    from hub.transport import kafka_endpoint, new_producer  # noqa: PLC0415

    own: dict[str, aiokafka.AIOKafkaProducer] = {}

    async def send(self: Any, partnership_id: str, record: Any) -> None:
        if "producer" not in own:
            own["producer"] = new_producer(
                kafka_endpoint(self.settings),
                acks="all",
                linger_ms=linger_ms,
            )
            await own["producer"].start()
        await own["producer"].send_and_wait(
            self.settings.alert_topic(partnership_id),
            record.value,
            key=record.key,
            headers=list(record.headers),
        )

    sequence.Sequencer.send = send  # type: ignore[method-assign]  # this process only


def main() -> None:
    """Patch, then hand over to ``hub worker``."""
    if os.environ.get("BENCH_FETCH_WAIT_MS"):
        os.environ["HUB_FETCH_MAX_WAIT_MS"] = os.environ["BENCH_FETCH_WAIT_MS"]
    if os.environ.get("BENCH_SEQUENCER_LINGER_MS"):
        _patch_sequencer(int(os.environ["BENCH_SEQUENCER_LINGER_MS"]))
    from hub.cli import main as hub_main  # noqa: PLC0415  # after the patch, as the worker would

    hub_main()


if __name__ == "__main__":
    main()
