"""``hub quarantine``: list rejected inputs (never their bytes) and send them back through ingest.

A record quarantined without its bytes (too large to keep, ``original_omitted``) is redriven
from its feed position instead, once its SHA-256 matches; if the feed no longer holds it, the
summary counts it under ``original_unavailable`` and nothing is sent for it.

Register with ``app.add_typer(quarantine.app, name="quarantine")``. Both commands read the
quarantine topic from its start until it has been quiet for ``--wait`` seconds: the embedded
broker's end offsets can be too low (BROKER.md), so "the end" is not asked for.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from pydantic import ValidationError as PydanticValidationError

from hub.config import Settings, load_settings
from hub.crypto.batchrecord import event_seals, parse_batch_record
from hub.errors import HubError
from hub.ingest import SEAL_HEADER
from hub.quarantine import QuarantineRecord
from hub.registry import load_registry
from hub.transport import TopicPartition, kafka_endpoint, new_consumer, translated
from hub.transport.kafka import KafkaTransport

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
#: Header a redriven message carries: the quarantine position it came from.
REDRIVE_HEADER = "vru-redrive"
MAX_READ_S = 120.0

ReasonOption = Annotated[str | None, typer.Option("--reason", help="only this reason code")]
WaitOption = Annotated[
    float, typer.Option("--wait", min=0.2, help="stop reading after this many quiet seconds")
]


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A quarantine record and where it sits on the quarantine topic."""

    partition: int
    offset: int
    record: QuarantineRecord

    @property
    def position(self) -> str:
        """``partition:offset`` on the quarantine topic."""
        return f"{self.partition}:{self.offset}"

    def summary(self) -> dict[str, Any]:
        """What the record says, without the rejected bytes, key or headers."""
        r = self.record
        return {
            "position": self.position,
            "reason": r.reason,
            "error": r.error,
            "detail": r.detail,
            "source": r.source.model_dump(),
            "quarantined_at": r.quarantined_at.isoformat(),
            "size": len(r.original) if r.original_size is None else r.original_size,
            "original_omitted": r.original_omitted,
        }


async def read_quarantine(settings: Settings, quiet_s: float) -> tuple[list[Quarantined], int]:
    """Every record on the quarantine topic, and how many could not be parsed."""
    endpoint = kafka_endpoint(settings)
    consumer = new_consumer(
        endpoint,
        settings.quarantine_topic,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    found: list[Quarantined] = []
    unreadable = 0
    try:
        async with translated(endpoint, f"read {settings.quarantine_topic}"):
            await consumer.start()
            started = last = time.monotonic()
            while time.monotonic() - last < quiet_s and time.monotonic() - started < MAX_READ_S:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    last = time.monotonic()
                    for message in records:
                        item = _parse(message.partition, message.offset, message.value or b"")
                        unreadable += item is None
                        found += [item] if item else []
    finally:
        await consumer.stop()
    return sorted(found, key=lambda q: (q.partition, q.offset)), unreadable


def _parse(partition: int, offset: int, value: bytes) -> Quarantined | None:
    try:
        return Quarantined(partition, offset, QuarantineRecord.from_bytes(value))
    except PydanticValidationError:
        return None


Original = tuple[bytes, bytes | None, list[tuple[str, bytes]]]


async def redrive(settings: Settings, items: list[Quarantined]) -> tuple[int, int]:
    """Send each record's original bytes, key and headers back to its source feed topic.

    Returns how many were sent, and how many omitted originals the feed no longer holds.
    """
    sent = unavailable = 0
    async with KafkaTransport(kafka_endpoint(settings)) as transport:
        for item in items:
            original = await _original(settings, item.record)
            if original is None:
                unavailable += 1
                continue
            value, key, headers = original
            marker = f"{settings.quarantine_topic}:{item.position}".encode()
            kept = [h for h in headers if h[0] != REDRIVE_HEADER]
            await transport.send(
                item.record.source.topic,
                value,
                key=key,
                headers=(*kept, (REDRIVE_HEADER, marker)),
            )
            sent += 1
    return sent, unavailable


async def _original(settings: Settings, record: QuarantineRecord) -> Original | None:
    """The rejected input: kept in the record, or read back from its feed position."""
    if not record.original_omitted:
        return record.original, record.key, record.original_headers
    source = record.source
    tp = TopicPartition(source.topic, source.partition)
    endpoint = kafka_endpoint(settings)
    consumer = new_consumer(
        endpoint,
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    try:
        async with translated(endpoint, f"read {source.topic}"):
            await consumer.start()
            consumer.assign([tp])
            consumer.seek(tp, source.offset)
            batch = await consumer.getmany(tp, timeout_ms=5000, max_records=1)
    finally:
        await consumer.stop()
    found = [r for r in batch.get(tp, []) if r.offset == source.offset]
    if not found or found[0].value is None:
        return None
    value, headers = found[0].value, [(k, bytes(v)) for k, v in found[0].headers]
    if source.index is not None:  # one event of a batch record: it, with its derived seal
        value, headers = _event_of(value, source.index)
    if hashlib.sha256(value).hexdigest() != record.original_sha256:
        return None
    return value, found[0].key, headers


def _event_of(value: bytes, index: int) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Event ``index`` of a batch record and its single-event seal header (empty if none)."""
    try:
        record = parse_batch_record(value)
        event = record.events[index]
    except (HubError, IndexError):
        return b"", []
    return event, [(SEAL_HEADER, event_seals(record)[index].to_bytes())]


def _read(settings: Settings, reason: str | None, wait: float) -> tuple[list[Quarantined], int]:
    try:
        items, unreadable = asyncio.run(read_quarantine(settings, wait))
    except HubError as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    return [q for q in items if reason is None or q.record.reason == reason], unreadable


@app.command("list")
def list_records(
    reason: ReasonOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per record")] = False,
    wait: WaitOption = 2.0,
) -> None:
    """Show each quarantined input's reason, error, origin and time; never its bytes."""
    settings = load_settings()
    items, unreadable = _read(settings, reason, wait)
    for item in items:
        if as_json:
            typer.echo(json.dumps(item.summary(), sort_keys=True))
            continue
        r = item.record
        origin = f"{r.source.topic}[{r.source.partition}]@{r.source.offset}"
        if r.source.index is not None:  # one event of a batch record: its index in the record
            origin += f"#{r.source.index}"
        when = r.quarantined_at.isoformat(timespec="seconds")
        typer.echo(f"{item.position:>10} {when} {r.reason:<18} {r.error:<22} {origin}  {r.detail}")
    if not as_json:
        counts = Counter(q.record.reason for q in items)
        typer.echo(f"{len(items)} records " + json.dumps(dict(sorted(counts.items()))))
    if unreadable:
        typer.echo(
            f"warning: {unreadable} records on the topic are not quarantine records", err=True
        )


@app.command("redrive")
def redrive_records(
    reason: ReasonOption = None,
    redrive_all: Annotated[
        bool, typer.Option("--all", help="every record, whatever its reason")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only say what would be sent")] = False,
    wait: WaitOption = 2.0,
) -> None:
    """Send quarantined inputs back to their feed topic (after a fix), with key and headers."""
    if (reason is None) != redrive_all:
        typer.echo("error: give exactly one of --reason R or --all", err=True)
        raise typer.Exit(code=1)
    settings = load_settings()
    registry = load_registry(settings.deploy_dir / "registry.yaml")
    feeds = {settings.feed_topic(a.id) for a in registry.agencies}
    items, _ = _read(settings, reason, wait)
    chosen = [q for q in items if q.record.source.topic in feeds]
    sent = unavailable = 0
    if not dry_run and chosen:
        try:
            sent, unavailable = asyncio.run(redrive(settings, chosen))
        except HubError as exc:
            typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
            raise typer.Exit(code=1) from exc
    summary = {
        "selected": len(chosen),
        "redriven": sent,
        "original_unavailable": unavailable,
        "not_a_feed_topic": len(items) - len(chosen),
        "by_reason": dict(sorted(Counter(q.record.reason for q in chosen).items())),
        "dry_run": dry_run,
    }
    typer.echo(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    app()
