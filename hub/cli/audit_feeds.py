"""The consent feeds as ``hub audit replay`` reads them: from the broker, or from an export.

Replay checks each decision's consent watermark against these feeds (``hub.audit.watermark``).
An export holds them in ``feeds.jsonl``, one record per line: topic, partition, offset, the
broker's timestamp (ms: the receive time the agency's key window is checked at), key, value
and headers in base64. An export without that file (an older one) replays without the check.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from datetime import UTC, datetime
from pathlib import Path

from hub.audit.watermark import WatermarkCheck
from hub.config import Settings
from hub.consent.watch import WithdrawalWatch, consent_feeds
from hub.errors import AuditError
from hub.ingest import FeedMessage, Ingest
from hub.quarantine import SourceRef
from hub.registry import Registry
from hub.runtime import audit_ingest_context
from hub.transport import Record, kafka_endpoint
from hub.transport.topiclog import read_partition

FEEDS_FILE = "feeds.jsonl"


def feed_topics(settings: Settings, registry: Registry) -> dict[str, str]:
    """Consent feed topic -> agency id, for the agencies that may publish consent ends."""
    agencies = {a.id: settings.feed_topic(a.id) for a in registry.agencies}
    topics = consent_feeds(registry, agencies)
    return {t: a for a, t in agencies.items() if t in topics}


def message_of(record: Record, agency: str) -> FeedMessage:
    """A feed record as the worker's follower sees it."""
    return FeedMessage(
        value=record.value or b"",
        key=record.key,
        headers=tuple((k, v or b"") for k, v in record.headers or ()),
        source=SourceRef(topic=record.topic, partition=record.partition, offset=record.offset),
        feed_agency=agency,
        received_at=datetime.fromtimestamp(record.timestamp_ms / 1000, UTC),
    )


async def _read_feeds(settings: Settings, topics: dict[str, str]) -> list[FeedMessage]:
    messages: list[FeedMessage] = []
    for topic, agency in sorted(topics.items()):
        for number in range(settings.partitions):

            def keep(record: Record, agency: str = agency) -> None:
                messages.append(message_of(record, agency))

            await read_partition(kafka_endpoint(settings), topic, keep, number)
    return messages


def read_feeds(
    settings: Settings, registry: Registry, from_dir: Path | None = None
) -> list[FeedMessage] | None:
    """Every consent feed record, partition by partition; None when an export has none."""
    topics = feed_topics(settings, registry)
    if from_dir is None:
        return asyncio.run(_read_feeds(settings, topics))
    path = from_dir / FEEDS_FILE
    if not path.exists():
        return None
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
        return [_message(json.loads(line), topics) for line in lines]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise AuditError(f"{FEEDS_FILE} is not a consent feeds export") from exc


def _message(raw: dict[str, object], topics: dict[str, str]) -> FeedMessage:
    topic = str(raw["topic"])
    headers = raw["headers"]
    if not isinstance(headers, list):
        raise TypeError("headers")
    return FeedMessage(
        value=base64.b64decode(str(raw["value"])),
        key=base64.b64decode(str(raw["key"])) or None,
        headers=tuple((str(k), base64.b64decode(str(v))) for k, v in headers),
        source=SourceRef(
            topic=topic, partition=int(str(raw["partition"])), offset=int(str(raw["offset"]))
        ),
        feed_agency=topics.get(topic, ""),
        received_at=datetime.fromtimestamp(int(str(raw["timestamp"])) / 1000, UTC),
    )


def write_feeds(out: Path, messages: list[FeedMessage]) -> None:
    """Write the consent feed records to ``out/feeds.jsonl`` (module doc)."""
    with (out / FEEDS_FILE).open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(_line(m)) + "\n" for m in messages)


def _line(message: FeedMessage) -> dict[str, object]:
    stamp = message.received_at or datetime.now(UTC)
    return {
        "topic": message.source.topic,
        "partition": message.source.partition,
        "offset": message.source.offset,
        "timestamp": round(stamp.timestamp() * 1000),
        "key": base64.b64encode(message.key or b"").decode("ascii"),
        "value": base64.b64encode(message.value).decode("ascii"),
        "headers": [[k, base64.b64encode(v).decode("ascii")] for k, v in message.headers],
    }


def watermark_check(settings: Settings, messages: list[FeedMessage]) -> WatermarkCheck:
    """The consent feeds read into a check, authenticating ends as the worker does."""
    context = audit_ingest_context(settings)
    check = WatermarkCheck(WithdrawalWatch(Ingest(context), context.decoder))
    for message in messages:
        check.read(message)
    return check
