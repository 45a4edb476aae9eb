"""A backtest's events read back from the agencies' feed topics on a broker.

Every partition of each agency's feed topic (all the registry's agencies, or those named) is
read from its start to its end with the hub's own partition reader
(:func:`hub.transport.topiclog.read_partition`), and each record becomes the sealed messages
ingest would take from it (:func:`feed_items`): its value, key and headers as received, the
seal among the headers. Nothing is trusted for being on the broker: every message goes
through ingest's checks in the backtest, as live. The whole read is one chunk, so the run
orders it by event time as it orders every other source.

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
from hub.crypto.batchrecord import event_seals, is_batch_record, parse_batch_record
from hub.errors import MalformedBatchError
from hub.ingest import SEAL_HEADER
from hub.registry import load_registry
from hub.transport import ConsumerRecord, kafka_endpoint
from hub.transport.topiclog import read_partition


def feed_items(record: ConsumerRecord[bytes, bytes]) -> list[SealedMessage]:
    """The sealed events one feed record carries, as ingest takes them.

    A single-event record is its value, with the event's seal in its headers. A batch record
    (``hub.crypto.batchrecord``) is its events in order, each with the seal derived from the
    record's signature, so ingest checks each as it checks a single-event record. A record
    that claims to be a batch and does not parse is passed on whole: ingest refuses it and the
    backtest counts it, as live.
    """
    headers = tuple((name, value or b"") for name, value in record.headers)
    key, value = record.key or b"", record.value or b""
    if not is_batch_record(value):
        return [SealedMessage(key=key, value=value, headers=headers)]
    try:
        batch = parse_batch_record(value)
    except MalformedBatchError:
        return [SealedMessage(key=key, value=value, headers=headers)]
    kept = tuple((name, v) for name, v in headers if name != SEAL_HEADER)
    return [
        SealedMessage(key=key, value=event, headers=(*kept, (SEAL_HEADER, seal.to_bytes())))
        for event, seal in zip(batch.events, event_seals(batch), strict=True)
    ]


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
