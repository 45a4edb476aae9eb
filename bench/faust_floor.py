"""What faust itself costs: the hub's hops and table writes with no domain work at all.

Run by ``bench_pipeline`` as its own process, as a worker would be, with the phase's settings
in the environment (``HUB_*``, as ``hub worker`` reads them):
``python -m bench.faust_floor SHAPE WARMUP COUNT``. The faust app is the worker's own
(``agents.app.bare_app``: same broker, fetch wait, linger, acks and timeouts), only the agents
are replaced:

* ``hop``: one agent copies every feed message to the accepted topic with ``Topic.send``;
  faust's cost of one consume and one produce, to set beside the plain aiokafka passthrough.
* ``topology``: the hub's shape per event with no work in it. An ``ingest`` agent writes one
  key to the ``seen-events`` table and sends the message to the accepted topic; a
  ``correlate`` agent reads it and writes it to the ``subjects`` table. Two consumes and three
  produces (two of them table changelogs), as the pipeline does for an event that raises
  nothing. The pipeline cannot be faster than this on the same machine.

It prints ``warm`` once the first ``WARMUP`` messages are through, then one JSON line with the
wall-clock time the last of ``WARMUP + COUNT`` was processed, and keeps running until stopped.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

import faust

from agents.app import bare_app, worker_options
from agents.headers import raw_topic
from hub.config import Settings, load_settings
from hub.log import configure_logging
from hub.runtime import load_registry_from

SHAPES = ("hop", "topology")


def counter(total: int, warmup: int) -> Callable[[], None]:
    """Count processed messages; print ``warm`` and the finish time at the right counts."""
    done = 0

    def count() -> None:
        nonlocal done
        done += 1
        if done == warmup:
            print("warm", flush=True)  # read by bench_pipeline
        if done == total:
            print(json.dumps({"copied": done, "finished": time.time()}), flush=True)

    return count


def floor_app(settings: Settings, shape: str, count: Callable[[], None]) -> faust.App:
    """The worker's faust app with agents that do no domain work (see the module docstring)."""
    app = bare_app(settings)
    feeds = raw_topic(
        app, *(settings.feed_topic(a.id) for a in load_registry_from(settings).agencies)
    )
    accepted = raw_topic(app, settings.accepted_topic)
    n = settings.partitions
    seen = app.Table("seen-events", default=None, key_type=str, value_type=str, partitions=n)
    subjects = app.Table("subjects", default=None, key_type=str, value_type=bytes, partitions=n)

    async def copy(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            if shape == "topology":
                seen[f"{message.topic}:{message.partition}:{message.offset}"] = "x"
            await accepted.send(key=message.key, value=event.value)
            if shape == "hop":
                count()

    async def fold(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            subjects[(event.message.key or b"").decode(errors="replace")] = event.value
            count()

    app.agent(feeds, name="ingest")(copy)
    if shape == "topology":
        app.agent(accepted, name="correlate")(fold)
    return app


AppBuilder = Callable[[Settings, str, Callable[[], None]], faust.App]


def run_floor(build: AppBuilder, shapes: tuple[str, ...]) -> None:
    """``SHAPE WARMUP COUNT`` from the command line: build that shape's app and run it."""
    shape, warmup, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if shape not in shapes:
        raise SystemExit(f"unknown shape {shape!r}; known: {', '.join(shapes)}")
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    app = build(settings, shape, counter(warmup + count, warmup))
    faust.Worker(app, **worker_options(settings)).execute_from_commandline()


def main() -> None:
    """Command-line entry (see the module docstring)."""
    run_floor(floor_app, SHAPES)


if __name__ == "__main__":
    main()
