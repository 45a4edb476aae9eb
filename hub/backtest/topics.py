"""A backtest's events read back from the agencies' feed topics on a broker.

Every partition of each agency's feed topic (all the registry's agencies, or those named) is
read from its start to its end with the hub's own partition reader
(:func:`hub.transport.topiclog.read_partition`), and each record becomes the feed message
ingest would take (:func:`feed_items`): its value, key and headers as received, a batch record
whole (the run takes its events apart and checks its seal once). Nothing is trusted for being
on the broker: every message goes through ingest's checks in the backtest, as live. The whole
read is one chunk, so the run orders it by event time as it orders every other source.

::

    for chunk in feed_topics(settings, ["police", "education"]):   # or None: every agency
        runner.feed(chunk)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hub.agency import FeedMessage as SealedMessage
from hub.backtest.period import BacktestInputError
from hub.backtest.plan import Sealed
from hub.backtest.sources import Chunks
from hub.config import Settings
from hub.registry import load_registry
from hub.transport import ConsumerRecord, kafka_endpoint
from hub.transport.topiclog import read_partition


def feed_items(record: ConsumerRecord[bytes, bytes]) -> list[SealedMessage]:
    """The feed message one record is, as ingest takes it: its value, key and headers as
    received. A batch record stays whole: the run takes its events apart, each at its time,
    and checks the record's seal once (:mod:`hub.backtest.batches`); a record that is not
    an authentic sealed event or batch is refused and counted, as live."""
    headers = tuple((name, value or b"") for name, value in record.headers)
    return [SealedMessage(key=record.key or b"", value=record.value or b"", headers=headers)]


def feed_topics(settings: Settings, agencies: Sequence[str] | None = None) -> Chunks:
    """Every record of the agencies' feed topics (every agency's when None), as one chunk."""
    registry = load_registry(settings.deploy_dir / "registry.yaml")
    known = [a.id for a in registry.agencies]
    named = list(agencies) if agencies else known
    unknown = sorted(set(named) - set(known))
    if unknown:
        raise BacktestInputError(f"agencies not in the registry: {', '.join(unknown)}")
    yield asyncio.run(_read(settings, named))


async def _read(settings: Settings, agencies: Sequence[str]) -> list[Sealed]:
    """Each agency's feed topic read to its end, partition by partition."""
    endpoint = kafka_endpoint(settings)
    found: list[Sealed] = []
    for agency in agencies:

        def visit(record: ConsumerRecord[bytes, bytes], agency: str = agency) -> None:
            found.extend((agency, item) for item in feed_items(record))

        for partition in range(settings.partitions):
            await read_partition(endpoint, settings.feed_topic(agency), visit, partition)
    return found
