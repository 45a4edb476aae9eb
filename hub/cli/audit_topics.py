"""The audit topics as the auditors' tools read them: from the broker, or from an export.

An export (``hub audit export --out DIR``) holds, one record per line:

- ``decisions.jsonl``, ``heads.jsonl``, ``agreements.jsonl``: ``{"offset", "value_b64"}``,
  every record value exactly as on the topic (internal records are binary, and a forged
  record may be anything);
- ``accepted.jsonl``: partition, offset, the broker's timestamp (ms), the kind the record
  claims, key and value in base64;
- ``export.json``: the topic names the records were read from. Every internal record's tag is
  bound to its topic, so a verifier off-site needs them (``hub.crypto.record``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path

from hub.audit import StreamRecord
from hub.config import Settings
from hub.crypto.record import parse
from hub.errors import AuditError, MalformedRecordError
from hub.transport import Record, kafka_endpoint
from hub.transport.topiclog import read_partition

EXPORT_FORMAT = "vru-hub/audit-export/v2"
FILES = {
    "decisions": "decisions.jsonl",
    "heads": "heads.jsonl",
    "agreements": "agreements.jsonl",
    "accepted": "accepted.jsonl",
    "manifest": "export.json",
}


@dataclass(frozen=True, slots=True)
class TopicNames:
    """The topics the records came from (their tags are bound to these names)."""

    decisions: str
    agreements: str
    accepted: str

    @classmethod
    def of(cls, settings: Settings) -> TopicNames:
        """The names under the settings' prefix."""
        return cls(settings.decisions_topic, settings.agreements_topic, settings.accepted_topic)


@dataclass(frozen=True, slots=True)
class Topics:
    """The record values of the audit topics, in offset order, and where they came from."""

    decisions: list[bytes]
    heads: list[bytes]
    agreements: list[bytes]
    names: TopicNames


async def _read(settings: Settings, topic: str) -> list[bytes]:
    values: list[bytes] = []

    def keep(record: Record) -> None:
        values.append(record.value or b"")

    await read_partition(kafka_endpoint(settings), topic, keep)
    return values


async def read_all(settings: Settings) -> Topics:
    """The decisions, heads and agreements topics from the broker."""
    return Topics(
        await _read(settings, settings.decisions_topic),
        await _read(settings, settings.heads_topic),
        await _read(settings, settings.agreements_topic),
        TopicNames.of(settings),
    )


def load_topics(settings: Settings, from_dir: Path | None) -> Topics:
    """The audit topics from the broker, or from an export directory."""
    if from_dir is None:
        return asyncio.run(read_all(settings))
    if not from_dir.is_dir():
        raise AuditError(f"{from_dir} is not a directory")
    try:
        return Topics(
            _values(from_dir / FILES["decisions"]),
            _values(from_dir / FILES["heads"]),
            _values(from_dir / FILES["agreements"]),
            _names(from_dir / FILES["manifest"], settings),
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise AuditError(f"{from_dir} is not an audit export ({type(exc).__name__})") from exc


def _values(path: Path) -> list[bytes]:
    if not path.exists():
        return []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [base64.b64decode(json.loads(line)["value_b64"], validate=True) for line in lines]


def _names(path: Path, settings: Settings) -> TopicNames:
    if not path.exists():
        return TopicNames.of(settings)
    raw = json.loads(path.read_text(encoding="utf-8"))
    topics = raw["topics"]
    return TopicNames(str(topics["decisions"]), str(topics["agreements"]), str(topics["accepted"]))


def write_export(out: Path, topics: Topics, accepted: list[StreamRecord]) -> None:
    """Write every topic to ``out`` in the export format (module doc)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, values in (
        ("decisions", topics.decisions),
        ("heads", topics.heads),
        ("agreements", topics.agreements),
    ):
        lines = (
            json.dumps({"offset": n, "value_b64": base64.b64encode(v).decode("ascii")}) + "\n"
            for n, v in enumerate(values)
        )
        (out / FILES[name]).write_text("".join(lines), encoding="utf-8")
    with (out / FILES["accepted"]).open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(stream_json(r)) + "\n" for r in accepted)
    names = topics.names
    manifest = {
        "format": EXPORT_FORMAT,
        "topics": {
            "decisions": names.decisions,
            "agreements": names.agreements,
            "accepted": names.accepted,
        },
    }
    (out / FILES["manifest"]).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def stream_json(record: StreamRecord) -> dict[str, object]:
    """One accepted-topic record as a line of ``accepted.jsonl``."""
    return {
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp_ms,
        "kind": record.kind,
        "key": base64.b64encode(record.key or b"").decode("ascii"),
        "value": base64.b64encode(record.value).decode("ascii"),
    }


def _stream_record(line: bytes) -> StreamRecord:
    raw = json.loads(line)
    return StreamRecord(
        partition=int(raw["partition"]),
        offset=int(raw["offset"]),
        timestamp_ms=int(raw["timestamp"]),
        kind=str(raw["kind"]),
        key=base64.b64decode(raw["key"]) or None,
        value=base64.b64decode(raw["value"]),
    )


def claimed_kind(value: bytes) -> str:
    """The kind an accepted record claims (unverified; for the export only)."""
    try:
        return parse(value).kind.value
    except MalformedRecordError:
        return ""


async def _read_accepted(settings: Settings) -> list[StreamRecord]:
    records: list[StreamRecord] = []

    def keep(record: Record) -> None:
        value = record.value or b""
        records.append(
            StreamRecord(
                record.partition,
                record.offset,
                record.timestamp_ms,
                claimed_kind(value),
                record.key,
                value,
            )
        )

    for number in range(settings.partitions):
        await read_partition(kafka_endpoint(settings), settings.accepted_topic, keep, number)
    return records


def read_accepted(settings: Settings, from_dir: Path | None = None) -> list[StreamRecord]:
    """Every accepted-topic record, partition by partition in offset order."""
    if from_dir is None:
        return asyncio.run(_read_accepted(settings))
    path = from_dir / FILES["accepted"]
    if not path.exists():
        return []
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
        return [_stream_record(line.encode()) for line in lines]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise AuditError(f"{FILES['accepted']} is not an accepted-topic export") from exc
