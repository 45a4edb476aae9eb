"""``hub audit``: verify the decision ledger, export it, prove one decision, replay every
decision, look back in time at one subject.

Register with ``app.add_typer(audit.app, name="audit")``. Topics are read from their start in
``HUB_BROKER_URL`` (to their true end: see ``hub.transport.topiclog``), or from files exported
with ``hub audit export`` (``--from-dir``): ``decisions.jsonl``, ``heads.jsonl`` and
``agreements.jsonl``, one record value per line, and ``accepted.jsonl``, one accepted-topic
record per line (partition, offset, timestamp, kind, key and value in base64). See
``docs/audit.md``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hub.audit import (
    History,
    Ledger,
    Replayer,
    StreamRecord,
    Window,
    entry_of,
    subject_at,
    verify_ledger,
)
from hub.codec import SchemaStore
from hub.config import Settings, load_settings
from hub.errors import AuditError, HubError, IdentifierError
from hub.geo import AreaLookup
from hub.partnership import load_hub_keys
from hub.policy import KIND_HEADER
from hub.pseudonym import parse_token
from hub.rules import RuleSet, catalog_from_store
from hub.runtime import load_registry_from
from hub.transport import ConsumerRecord, kafka_endpoint
from hub.transport.partitioner import partition_for
from hub.transport.topiclog import read_partition

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
EXIT_TAMPERED = 1
EXIT_UNREADABLE = 2
STDIN = "-"
FILES = {
    "decisions": "decisions.jsonl",
    "heads": "heads.jsonl",
    "agreements": "agreements.jsonl",
    "accepted": "accepted.jsonl",
}

FromDirOption = Annotated[
    Path | None, typer.Option("--from-dir", help="read exported JSONL files instead of the broker")
]
HubKeysOption = Annotated[
    Path | None,
    typer.Option("--hub-keys", help="hub public key bundle or keyring dir; default HUB_KEYS_DIR"),
]


@dataclass(frozen=True, slots=True)
class Topics:
    """The record values of the audit topics, in offset order."""

    decisions: list[bytes]
    heads: list[bytes]
    agreements: list[bytes]


async def _read(settings: Settings, topic: str) -> list[bytes]:
    values: list[bytes] = []

    def keep(record: ConsumerRecord[bytes, bytes]) -> None:
        values.append(record.value or b"")

    await read_partition(kafka_endpoint(settings), topic, keep)
    return values


async def _read_all(settings: Settings) -> Topics:
    return Topics(
        await _read(settings, settings.decisions_topic),
        await _read(settings, settings.heads_topic),
        await _read(settings, settings.agreements_topic),
    )


def _lines(path: Path) -> list[bytes]:
    if not path.exists():
        return []
    return [line.encode() for line in path.read_text(encoding="utf-8").splitlines() if line]


def load_topics(settings: Settings, from_dir: Path | None) -> Topics:
    """The audit topics from the broker, or from an export directory."""
    if from_dir is None:
        return asyncio.run(_read_all(settings))
    if not from_dir.is_dir():
        raise typer.BadParameter(f"{from_dir} is not a directory", param_hint="--from-dir")
    return Topics(
        *(_lines(from_dir / FILES[name]) for name in ("decisions", "heads", "agreements"))
    )


def _unreadable(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
    return typer.Exit(code=EXIT_UNREADABLE)


@app.command()
def verify(
    from_dir: FromDirOption = None,
    hub_keys: HubKeysOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable result")] = False,
) -> None:
    """Check every tree head, the chain between them, and every ledger entry from the start.

    Exits 0 when the ledger verifies, 1 naming the first bad head or entry, 2 when the topics
    or keys cannot be read.
    """
    settings = load_settings()
    try:
        keys = load_hub_keys(hub_keys or settings.keys_dir)
        topics = load_topics(settings, from_dir)
    except HubError as exc:
        raise _unreadable(exc) from exc
    try:
        verified = verify_ledger(topics.decisions, topics.heads, keys)
    except AuditError as exc:
        failure = {"ok": False, "error": type(exc).__name__, "detail": str(exc), **_where(exc)}
        typer.echo(json.dumps(failure) if as_json else f"FAIL {type(exc).__name__}: {exc}")
        raise typer.Exit(code=EXIT_TAMPERED) from exc
    result = {
        "ok": True,
        "records": verified.records,
        "entries": verified.entries,
        "repeats": verified.repeats,
        "heads": verified.heads,
        "redundant_heads": verified.redundant_heads,
        "signed_size": verified.signed.size,
        "signed_root": verified.signed.root.hex(),
        "unsealed": verified.unsealed,
    }
    if as_json:
        typer.echo(json.dumps(result))
        return
    typer.echo(
        f"OK {verified.entries} entries ({verified.repeats} repeated records skipped), "
        f"{verified.heads} signed heads ({verified.redundant_heads} redundant); "
        f"signed size {verified.signed.size} root {verified.signed.root.hex()}; "
        f"{verified.unsealed} entries not yet under a signed head"
    )


def _where(exc: AuditError) -> dict[str, object]:
    names = ("index", "decision_id", "head", "key_id", "problem")
    return {n: getattr(exc, n) for n in names if hasattr(exc, n)}


@app.command()
def export(out: Annotated[Path, typer.Option("--out", help="directory to write")]) -> None:
    """Copy the decisions, heads, agreements and accepted topics to JSONL files.

    The accepted topic holds pseudonymised events: keep the export as securely as the hub.
    """
    settings = load_settings()
    try:
        topics = asyncio.run(_read_all(settings))
    except HubError as exc:
        raise _unreadable(exc) from exc
    out.mkdir(parents=True, exist_ok=True)
    for name, values in (
        ("decisions", topics.decisions),
        ("heads", topics.heads),
        ("agreements", topics.agreements),
    ):
        text = "".join(v.decode() + "\n" for v in values)
        (out / FILES[name]).write_text(text, encoding="utf-8")
    accepted = read_accepted(settings)
    with (out / FILES["accepted"]).open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(stream_json(r)) + "\n" for r in accepted)
    typer.echo(
        f"{len(topics.decisions)} decisions, {len(topics.heads)} heads, "
        f"{len(accepted)} accepted records to {out}"
    )


@app.command()
def proof(
    decision: Annotated[str, typer.Option("--decision", help="decision id")],
    from_dir: FromDirOption = None,
) -> None:
    """Print an RFC 9162 inclusion proof of one decision in the newest head (JSON)."""
    settings = load_settings()
    try:
        topics = load_topics(settings, from_dir)
    except HubError as exc:
        raise _unreadable(exc) from exc
    ledger = Ledger()
    for value in topics.decisions:
        ledger.append(value)
    if not topics.heads:
        raise _unreadable(AuditError("no signed tree head yet"))
    head = json.loads(topics.heads[-1])
    index, size = ledger.index_of(decision), int(head["size"])
    if index is None or index >= size:
        raise _unreadable(AuditError("decision not under the newest signed head"))
    entry = entry_of(topics.decisions[_first_offset(topics.decisions, decision)], index)
    path = ledger.tree.inclusion_proof(index, size)
    typer.echo(
        json.dumps(
            {
                "format": "vru-hub/inclusion-proof/v1",
                "entry": entry.data.decode(),
                "index": index,
                "tree_head": head | {"leaves": None},
                "audit_path": [h.hex() for h in path],
            },
            indent=2,
        )
    )


def _first_offset(values: list[bytes], decision_id: str) -> int:
    """The position of a decision's first record (its leaf) among the topic's values."""
    return next(n for n, v in enumerate(values) if json.loads(v).get("decision_id") == decision_id)


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


async def _read_accepted(settings: Settings) -> list[StreamRecord]:
    records: list[StreamRecord] = []

    def keep(record: ConsumerRecord[bytes, bytes]) -> None:
        kind = next((v for k, v in record.headers if k == KIND_HEADER), b"")
        value = record.value or b""
        records.append(
            StreamRecord(
                record.partition, record.offset, record.timestamp, kind.decode(), record.key, value
            )
        )

    endpoint = kafka_endpoint(settings)
    for number in range(settings.partitions):
        await read_partition(endpoint, settings.accepted_topic, keep, number)
    return records


def read_accepted(settings: Settings, from_dir: Path | None = None) -> list[StreamRecord]:
    """Every accepted-topic record, partition by partition in offset order."""
    if from_dir is None:
        return asyncio.run(_read_accepted(settings))
    try:
        return [_stream_record(line) for line in _lines(from_dir / FILES["accepted"])]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise AuditError(f"{FILES['accepted']} is not an accepted-topic export") from exc


def load_history(settings: Settings, from_dir: Path | None) -> tuple[History, Topics]:
    """The agreements and accepted streams indexed for replay, and the audit topics."""
    topics = load_topics(settings, from_dir)
    history = History(SchemaStore.load(settings.schemas_dir), topics.agreements)
    for record in read_accepted(settings, from_dir):
        history.add(record)
    return history, topics


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter("not an ISO 8601 time", param_hint=option) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _progress(total: int, enabled: bool) -> Progress:
    console = Console(stderr=True)
    return Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("decisions"),
        TimeRemainingColumn(),
        console=console,
        disable=not (enabled and console.is_terminal),
        transient=True,
    )


@app.command()
def replay(
    start: Annotated[
        str | None, typer.Option("--from", help="first decision time (ISO 8601; UTC if no zone)")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="last decision time (ISO 8601)")] = None,
    from_dir: FromDirOption = None,
    explain: Annotated[
        list[str] | None, typer.Option("--explain", help="decision id to explain (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable result")] = False,
) -> None:
    """Re-decide every ledger entry from the agreements and accepted topics; report mismatches.

    Exits 0 when every decision re-derives exactly as recorded, 1 listing each mismatch
    (decision id, field, recorded, re-derived), 2 when the topics cannot be read.
    """
    settings = load_settings()
    window = Window(_instant(start, "--from"), _instant(end, "--to"))
    try:
        history, topics = load_history(settings, from_dir)
        store = SchemaStore.load(settings.schemas_dir)
        rules = RuleSet.load(settings.deploy_dir / "rules", catalog_from_store(store))
        replayer = Replayer(
            history,
            rules,
            load_registry_from(settings),
            AreaLookup.from_data_dir(settings.data_dir),
        )
    except HubError as exc:
        raise _unreadable(exc) from exc
    with _progress(len(topics.decisions), not as_json) as progress:
        task = progress.add_task("replay", total=len(topics.decisions))
        report = replayer.replay(
            topics.decisions, window, frozenset(explain or ()), lambda: progress.advance(task)
        )
    result = report.to_json() | {"history": asdict(history.counts) | {"records": history.records}}
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_replay(result)
    if not report.ok:
        raise typer.Exit(code=EXIT_TAMPERED)


def _print_replay(result: dict[str, Any]) -> None:
    for m in result["mismatches"]:
        typer.echo(
            f"MISMATCH {m['decision_id']} {m['field']}: recorded {json.dumps(m['recorded'])}"
            f" re-derived {json.dumps(m['derived'])}"
        )
    verdict = "OK" if result["ok"] else "FAIL"
    typer.echo(
        f"{verdict} {result['entries']} decisions re-derived, {result['mismatched_entries']} "
        f"differ; {result['repeats']} repeated records, {result['outside_window']} outside "
        "the time window"
    )
    for name, counts in result["summary"].items():
        typer.echo(f"{name}: {json.dumps(counts)}")
    for explanation in result["explanations"]:
        typer.echo(json.dumps(explanation, indent=2))


@app.command()
def at(
    time: Annotated[str, typer.Option("--time", help="the moment (ISO 8601; UTC if no zone)")],
    token: Annotated[
        str, typer.Option("--token", help="the subject's linkage token, or - to read it from stdin")
    ],
    from_dir: FromDirOption = None,
) -> None:
    """The consent state and the agreements in force for one subject at a time (JSON).

    The subject is printed only as its one-way principal reference, never the token.
    """
    settings = load_settings()
    moment = _instant(time, "--time")
    text = sys.stdin.readline().strip() if token == STDIN else token
    try:
        parse_token(text)
    except IdentifierError as exc:
        raise typer.BadParameter("not a linkage token", param_hint="--token") from exc
    try:
        history, _ = load_history(settings, from_dir)
    except HubError as exc:
        raise _unreadable(exc) from exc
    partition = history.partition_of(text)
    if partition is None:
        partition = partition_for(text.encode(), settings.partitions)
    assert moment is not None  # noqa: S101  # --time is required, so it was parsed
    typer.echo(json.dumps(subject_at(history, text, moment, partition), indent=2))
