"""The webhook forwarder: a partnership's alert topic, POSTed in order to a system without Kafka.

Each record is verified against the hub's keys (so a forged record cannot move the position)
and POSTed unchanged, still encrypted and signed; the forwarder needs no private key. It blocks
on a failing webhook and retries for ever; it never skips an alert. After each accepted POST
it writes its position (last sequence number, next offset) to a small state file, atomically,
so a restart resumes where it stopped. A crash between the POST and the write re-sends that
one record after the restart: the receiver drops it by alert id (``ce_id``). A permanent
refusal (4xx other than 429) stops the forwarder with the sequence number it could not send.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from hub.alerts import RecordMeta, verify_record
from hub.alerts.body import canonical_json
from hub.config import Settings
from hub.crypto import VerifyKey
from hub.errors import CryptoError, ValidationError
from hub.partnership.source import Positioned, ReadOptions, read_records
from hub.partnership.webhook import Delivery, RetryPolicy, WebhookSender

STATE_FORMAT = "vru-forward-state/v1"


@dataclass(frozen=True, slots=True)
class ForwardState:
    """Where a forwarder is: the last alert sequence number sent and the next offset to read."""

    partnership: str
    last_seq: int = 0
    next_offset: int = 0

    def save(self, path: Path) -> None:
        """Write atomically (temporary file, fsync, rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        doc = {
            "format": STATE_FORMAT,
            "partnership": self.partnership,
            "last_seq": self.last_seq,
            "next_offset": self.next_offset,
        }
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(doc, handle)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, partnership: str) -> ForwardState:
        """The saved state, or a fresh one when the file does not exist."""
        if not path.exists():
            return cls(partnership)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            state = cls(doc["partnership"], int(doc["last_seq"]), int(doc["next_offset"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError(f"{path}: unreadable forwarder state") from exc
        if doc["format"] != STATE_FORMAT or state.partnership != partnership:
            raise ValidationError(f"{path}: not a forwarder state for {partnership}")
        return state


@dataclass(frozen=True, slots=True)
class ForwardConfig:
    """Where to forward, how to sign, where to keep the position, how to retry."""

    url: str
    secret: bytes | None
    state_file: Path
    hub_keys: Sequence[VerifyKey]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    from_seq: int = 1


@dataclass(slots=True)
class ForwardStats:
    """What a forwarder run did."""

    forwarded: int = 0
    heartbeats: int = 0
    skipped: int = 0
    rejected: int = 0
    attempts: int = 0


async def forward(
    settings: Settings, partnership: str, config: ForwardConfig, options: ReadOptions
) -> ForwardStats:
    """Forward the partnership's records from the saved position; see the module docstring."""
    state = ForwardState.load(config.state_file, partnership)
    state = ForwardState(partnership, max(state.last_seq, config.from_seq - 1), state.next_offset)
    stats = ForwardStats()
    start = ReadOptions(state.next_offset, options.follow, options.idle_s)
    async with WebhookSender(config.url, config.secret, config.retry) as sender:
        async for positioned in read_records(settings, partnership, start):
            state = await _forward_one(positioned, state, config, sender, stats)
            state.save(config.state_file)
    return stats


async def _forward_one(
    positioned: Positioned,
    state: ForwardState,
    config: ForwardConfig,
    sender: WebhookSender,
    stats: ForwardStats,
) -> ForwardState:
    following = ForwardState(state.partnership, state.last_seq, positioned.offset + 1)
    meta = _verified(positioned, config.hub_keys, stats)
    if meta is None or meta.partnership != state.partnership:
        return following
    if not meta.is_heartbeat and (meta.seq or 0) <= state.last_seq:
        stats.skipped += 1
        return following
    seq = meta.last_seq if meta.is_heartbeat else meta.seq
    body = canonical_json(positioned.record.to_json())
    stats.attempts += await sender.deliver(Delivery(body, seq or 0, meta.id))
    if meta.is_heartbeat:
        stats.heartbeats += 1
        return following
    stats.forwarded += 1
    structlog.get_logger(__name__).info(
        "alert_forwarded", seq=meta.seq, offset=positioned.offset, alert_id=meta.id
    )
    return ForwardState(state.partnership, meta.seq or 0, positioned.offset + 1)


def _verified(
    positioned: Positioned, hub_keys: Sequence[VerifyKey], stats: ForwardStats
) -> RecordMeta | None:
    try:
        return verify_record(positioned.record, hub_keys)
    except CryptoError as exc:
        error = type(exc).__name__
    stats.rejected += 1
    structlog.get_logger(__name__).error("record_rejected", offset=positioned.offset, error=error)
    return None
