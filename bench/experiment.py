"""``hub worker`` with one consumer setting changed, to measure a proposed fix before it is made.

Not a production path: the benchmark starts this instead of ``hub worker`` only when
``BENCH_FETCH_WAIT_MS`` is set. faust creates its consumer with ``fetch_max_wait_ms=1500``
hard-coded, and the embedded broker answers a fetch only when that wait has run out, even
when records arrive meanwhile (``docs/benchmarks.md``), so every hop between two agents waits
up to 1.5 s. This launcher lowers that wait in the worker's process, then runs the worker
exactly as ``hub worker`` does.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import aiokafka

FAUST_FETCH_WAIT_MS = 1500


def _patch_fetch_wait(wait_ms: int) -> None:
    original = aiokafka.AIOKafkaConsumer.__init__

    @functools.wraps(original)
    def init(self: Any, *topics: Any, **kwargs: Any) -> None:
        if kwargs.get("fetch_max_wait_ms") == FAUST_FETCH_WAIT_MS:
            kwargs["fetch_max_wait_ms"] = wait_ms
        original(self, *topics, **kwargs)

    aiokafka.AIOKafkaConsumer.__init__ = init


def main() -> None:
    """Patch, then hand over to ``hub worker``."""
    _patch_fetch_wait(int(os.environ["BENCH_FETCH_WAIT_MS"]))
    from hub.cli import main as hub_main  # noqa: PLC0415  # after the patch, as the worker would

    hub_main()


if __name__ == "__main__":
    main()
