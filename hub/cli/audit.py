"""``hub audit``: verify the decision ledger, export it, prove one decision, look back in time.

Register with ``app.add_typer(audit.app, name="audit")``. Topics are read from their start in
``HUB_BROKER_URL`` (to their true end: see ``hub.transport.topiclog``), or from files exported
with ``hub audit export`` (``--from-dir``): ``decisions.jsonl``, ``heads.jsonl`` and
``agreements.jsonl``, one record value per line. See ``docs/audit.md``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from aiokafka.structs import ConsumerRecord

from hub.audit import Ledger, entry_of, verify_ledger
from hub.config import Settings, load_settings
from hub.errors import AuditError, HubError
from hub.partnership import load_hub_keys
from hub.transport.topiclog import read_partition

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
EXIT_TAMPERED = 1
EXIT_UNREADABLE = 2
FILES = {"decisions": "decisions.jsonl", "heads": "heads.jsonl", "agreements": "agreements.jsonl"}

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

    await read_partition(settings.broker_url, topic, keep)
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
    """Copy the decisions, heads and agreements topics to JSONL files for offline verification."""
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
    typer.echo(f"{len(topics.decisions)} decisions, {len(topics.heads)} heads to {out}")


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
