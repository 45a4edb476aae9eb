"""``hub worker`` with a proposed change applied in its own process, to measure it first.

Not a production path: the benchmark starts this instead of ``hub worker`` only when one of
these is set (``docs/benchmarks.md``):

* ``BENCH_FETCH_WAIT_MS``: the worker consumer's fetch wait. The embedded broker answers a
  fetch only when that wait has run out, even when records arrive meanwhile, so every hop
  between two agents can wait that long. The worker now reads it from
  ``HUB_FETCH_MAX_WAIT_MS`` (100 ms by default, 20 ms in the benchmark on the embedded
  broker, ``hub.config.EMBEDDED_FETCH_MAX_WAIT_MS``; faust's own is 1500 ms), so this only
  sets that variable.
* ``BENCH_SEQUENCER_LINGER_MS``: the sequencer sends each alert and waits for it, on the
  producer of its own transport (``agents/sequence.py``, no linger). This gives that
  producer this linger, still one record per request and waiting for each.

Then it runs the worker exactly as ``hub worker`` does.
"""

from __future__ import annotations

import functools
import os


def _patch_sequencer(linger_ms: int) -> None:
    from agents import sequence  # noqa: PLC0415  # only in this experiment's process
    from hub.transport.kafka import KafkaTransport  # noqa: PLC0415

    # The sequencing service's transport, built in agents/sequence.py, with this linger.
    sequence.KafkaTransport = functools.partial(KafkaTransport, linger_ms=linger_ms)  # type: ignore[misc]  # this process only


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
