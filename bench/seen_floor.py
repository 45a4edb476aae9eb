"""What the de-duplication table costs in faust: a row per event against a row per record.

Run by ``bench.bench_seen`` as its own process, with the phase's settings in the environment:
``python -m bench.seen_floor SHAPE WARMUP COUNT``. The faust app is the worker's own
(``agents.app.bare_app``); one agent reads batch feed records (``hub.crypto.batchrecord``),
parses each, writes the ``seen-events`` table and sends one record to the accepted topic:

* ``row-per-event``: one table row per event of the record (what ingest wrote before);
* ``row-per-record``: one row per record holding its events' ids (``hub.seen``).

Rows are plain text: the MAC (``hub.crypto.tablevalue``) costs the same µs in both shapes
per row and is measured by ``bench.bench_ingest``. It prints ``warm`` once ``WARMUP``
records are through, then one JSON line with the time the last of ``WARMUP + COUNT`` was.
"""

from __future__ import annotations

from collections.abc import Callable

import faust

from agents.app import bare_app
from agents.headers import raw_topic
from bench.faust_floor import run_floor
from hub.config import Settings
from hub.crypto.batchrecord import parse_batch_record
from hub.runtime import load_registry_from

SHAPES = ("row-per-event", "row-per-record")


def seen_app(settings: Settings, shape: str, count: Callable[[], None]) -> faust.App:
    """The worker's faust app with the one agent described in the module docstring."""
    app = bare_app(settings)
    feeds = raw_topic(
        app, *(settings.feed_topic(a.id) for a in load_registry_from(settings).agencies)
    )
    accepted = raw_topic(app, settings.accepted_topic)
    n = settings.partitions
    seen = app.Table("seen-events", default=None, key_type=str, value_type=str, partitions=n)

    async def ingest(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            record = parse_batch_record(event.value or b"")
            position = f"{message.topic}:{message.partition}:{message.offset}"
            if shape == "row-per-event":
                for index in range(len(record.events)):
                    seen[f"{position}:{index}"] = position
            else:
                seen[position] = "\n".join(f"e{i} {i}" for i in range(len(record.events)))
            await accepted.send(key=message.key, value=event.value)
            count()

    app.agent(feeds, name="ingest")(ingest)
    return app


def main() -> None:
    """Command-line entry (see the module docstring)."""
    run_floor(seen_app, SHAPES)


if __name__ == "__main__":
    main()
