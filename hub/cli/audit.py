"""``hub audit``: verify the decision ledger, export it, prove one decision, replay every
decision, look back in time at one subject.

Register with ``app.add_typer(audit.app, name="audit")``. Topics are read from their start in
``HUB_BROKER_URL`` (to their true end: see ``hub.transport.topiclog``), or from files exported
with ``hub audit export`` (``--from-dir``; the format is in ``hub.cli.audit_topics``). Only
records that verify under the keys given (``--hub-keys``: the hub's and information
governance's public keys) are used; see ``docs/audit.md`` and ``docs/threat-model.md``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hub.audit import (
    History,
    Ledger,
    OpenedDecisions,
    Verified,
    Window,
    entry_of,
    open_decisions,
    subject_at,
    verify_topics,
)
from hub.audit.history import StreamTrust
from hub.audit.shard import default_workers, replay_sharded
from hub.cli.audit_feeds import read_feeds, write_feeds
from hub.cli.audit_replay import ReplaySource, trusted_keys
from hub.cli.audit_topics import Topics, load_topics, read_accepted, read_all, write_export
from hub.cli.lazy import lazy_group
from hub.codec import SchemaStore
from hub.config import Settings, load_settings
from hub.crypto.trust import RecordVerifier, TrustedKeys
from hub.errors import AuditError, HubError, IdentifierError
from hub.partnership import load_hub_keys
from hub.pseudonym import parse_token
from hub.runtime import load_registry_from
from hub.transport.partitioner import partition_for

#: ``hub audit report`` is the dashboard's (``hub.cli.board``), imported when used.
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help=__doc__,
    cls=lazy_group({"report": "hub.cli.board:report"}),
)
EXIT_TAMPERED = 1
EXIT_UNREADABLE = 2
STDIN = "-"

FromDirOption = Annotated[
    Path | None, typer.Option("--from-dir", help="read exported JSONL files instead of the broker")
]
HubKeysOption = Annotated[
    Path | None,
    typer.Option(
        "--hub-keys",
        help="public key bundle or keyring dir (hub and governance keys); default HUB_KEYS_DIR",
    ),
]


def _unreadable(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
    return typer.Exit(code=EXIT_UNREADABLE)


def _trusted(settings: Settings, hub_keys: Path | None) -> TrustedKeys:
    return trusted_keys(settings, hub_keys)


@app.command()
def verify(
    from_dir: FromDirOption = None,
    hub_keys: HubKeysOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable result")] = False,
) -> None:
    """Check every tree head, the chain between them, and every ledger entry from the start.

    Exits 0 when the ledger verifies and nothing forged is on the topics, 1 naming the first
    bad head or entry, or every forged head and every record that is not the hub's, 2 when
    the topics or keys cannot be read.
    """
    settings = load_settings()
    try:
        keys = load_hub_keys(hub_keys or settings.keys_dir)
        topics = load_topics(settings, from_dir)
    except HubError as exc:
        raise _unreadable(exc) from exc
    try:
        verified = verify_topics(topics.decisions, topics.heads, keys, topics.names.decisions)
    except AuditError as exc:
        failure = {"ok": False, "error": type(exc).__name__, "detail": str(exc), **_where(exc)}
        typer.echo(json.dumps(failure) if as_json else f"FAIL {type(exc).__name__}: {exc}")
        raise typer.Exit(code=EXIT_TAMPERED) from exc
    result = verified_json(verified)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_verified(verified)
    if not verified.ok:
        raise typer.Exit(code=EXIT_TAMPERED)


def verified_json(verified: Verified) -> dict[str, object]:
    """The result of a verification as JSON data (``ok`` false when anything forged is found)."""
    return {
        "ok": verified.ok,
        "records": verified.records,
        "entries": verified.entries,
        "repeats": verified.repeats,
        "heads": verified.heads,
        "redundant_heads": verified.redundant_heads,
        "signed_size": verified.signed.size,
        "signed_root": verified.signed.root.hex(),
        "unsealed": verified.unsealed,
        "forged_heads": [f.to_json() for f in verified.forged_heads],
        "uncovered": [u.to_json() for u in verified.uncovered],
    }


def _print_verified(verified: Verified) -> None:
    for forged in verified.forged_heads:
        typer.echo(
            f"FORGED head at offset {forged.head} (key {forged.key_id}): {forged.error}: "
            f"{forged.problem}"
        )
    for record in verified.uncovered:
        ids = ", ".join(record.decision_ids) or "no decision id"
        typer.echo(f"UNCOVERED record at offset {record.offset} ({record.reason}): {ids}")
    verdict = "OK" if verified.ok else "FAIL"
    typer.echo(
        f"{verdict} {verified.entries} entries ({verified.repeats} repeated records skipped), "
        f"{verified.heads} signed heads ({verified.redundant_heads} redundant); "
        f"signed size {verified.signed.size} root {verified.signed.root.hex()}; "
        f"{verified.unsealed} entries not yet under a signed head; "
        f"{len(verified.forged_heads)} forged heads, "
        f"{len(verified.uncovered)} records not the hub's"
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
        topics = asyncio.run(read_all(settings))
        accepted = read_accepted(settings)
        feeds = read_feeds(settings, load_registry_from(settings)) or []
    except HubError as exc:
        raise _unreadable(exc) from exc
    write_export(out, topics, accepted)
    write_feeds(out, feeds)
    typer.echo(
        f"{len(topics.decisions)} decision records, {len(topics.heads)} heads, "
        f"{len(accepted)} accepted records, {len(feeds)} consent feed records to {out}"
    )


def opened_decisions(topics: Topics, trusted: TrustedKeys) -> OpenedDecisions:
    """The decisions of the hub-signed records on the decisions topic (the ledger's entries)."""
    return open_decisions(topics.decisions, RecordVerifier(trusted), topics.names.decisions)


@app.command()
def proof(
    decision: Annotated[str, typer.Option("--decision", help="decision id")],
    from_dir: FromDirOption = None,
    hub_keys: HubKeysOption = None,
) -> None:
    """Print an RFC 9162 inclusion proof of one decision in the newest head (JSON)."""
    settings = load_settings()
    try:
        topics = load_topics(settings, from_dir)
        entries = opened_decisions(topics, _trusted(settings, hub_keys)).entries
    except HubError as exc:
        raise _unreadable(exc) from exc
    ledger = Ledger()
    for value in entries:
        ledger.append(value)
    if not topics.heads:
        raise _unreadable(AuditError("no signed tree head yet"))
    head = json.loads(topics.heads[-1])
    index, size = ledger.index_of(decision), int(head["size"])
    if index is None or index >= size:
        raise _unreadable(AuditError("decision not under the newest signed head"))
    entry = entry_of(entries[_first_offset(entries, decision)], index)
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


def _first_offset(values: tuple[bytes, ...], decision_id: str) -> int:
    """The position of a decision's first entry (its leaf) among the entries."""
    return next(n for n, v in enumerate(values) if json.loads(v).get("decision_id") == decision_id)


def load_history(
    settings: Settings, from_dir: Path | None, trusted: TrustedKeys
) -> tuple[History, Topics]:
    """The agreements and accepted streams indexed for replay, and the audit topics."""
    topics = load_topics(settings, from_dir)
    trust = StreamTrust(RecordVerifier(trusted), topics.names.agreements, topics.names.accepted)
    history = History(SchemaStore.load(settings.schemas_dir), topics.agreements, trust)
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
def replay(  # typer maps each keyword-only parameter to one option
    *,
    start: Annotated[
        str | None, typer.Option("--from", help="first decision time (ISO 8601; UTC if no zone)")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="last decision time (ISO 8601)")] = None,
    from_dir: FromDirOption = None,
    explain: Annotated[
        list[str] | None, typer.Option("--explain", help="decision id to explain (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable result")] = False,
    hub_keys: HubKeysOption = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="processes to replay in, by accepted partition (default: the machine's cores, "
            "one per 10,000 decisions at most)",
        ),
    ] = None,
) -> None:
    """Re-decide every ledger entry from the agreements and accepted topics; report mismatches.

    Only hub-signed decisions are entries; any other record on the decisions topic is listed
    as uncovered. Exits 0 when every decision re-derives exactly as recorded and nothing is
    uncovered, 1 listing each mismatch (decision id, field, recorded, re-derived) and each
    uncovered record, 2 when the topics cannot be read. With ``--workers`` above 1 the
    entries are replayed in that many processes, one group of accepted partitions each, and
    the result is the one a single process gives (``docs/audit.md``).
    """
    settings = load_settings()
    window = Window(_instant(start, "--from"), _instant(end, "--to"))
    try:
        trusted = _trusted(settings, hub_keys)
        topics = load_topics(settings, from_dir)
        opened = opened_decisions(topics, trusted)
        feeds = read_feeds(settings, load_registry_from(settings), from_dir)
        source = ReplaySource(
            settings,
            hub_keys,
            topics.names,
            tuple(topics.agreements),
            tuple(read_accepted(settings, from_dir)),
            None if feeds is None else tuple(feeds),
        )
        with _progress(len(opened.entries), not as_json) as progress:
            task = progress.add_task("replay", total=len(opened.entries))
            replayed = replay_sharded(
                opened.entries,
                source,
                default_workers(len(opened.entries)) if workers is None else workers,
                window=window,
                explain=frozenset(explain or ()),
                advance=lambda: progress.advance(task),
            )
    except HubError as exc:
        raise _unreadable(exc) from exc
    if replayed.fallback is not None:  # on stderr: the output itself is the serial one
        typer.echo(f"note: replayed again in one process: {replayed.fallback}", err=True)
    report = replayed.report
    result = report.to_json() | {
        "history": replayed.history,
        "uncovered": [u.to_json() for u in opened.uncovered],
    }
    result["ok"] = report.ok and not opened.uncovered
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_replay(result)
    if not result["ok"]:
        raise typer.Exit(code=EXIT_TAMPERED)


def _print_replay(result: dict[str, Any]) -> None:
    for u in result["uncovered"]:
        ids = ", ".join(u["decision_ids"]) or "no decision id"
        typer.echo(f"UNCOVERED record at offset {u['offset']} ({u['reason']}): {ids}")
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
    checked = result["watermark"]
    if checked is None:
        typer.echo("watermark: not checked (the export holds no consent feeds)")
    else:
        typer.echo(f"watermark: {json.dumps(checked)}")
    for explanation in result["explanations"]:
        typer.echo(json.dumps(explanation, indent=2))


@app.command()
def at(
    time: Annotated[str, typer.Option("--time", help="the moment (ISO 8601; UTC if no zone)")],
    token: Annotated[
        str, typer.Option("--token", help="the subject's linkage token, or - to read it from stdin")
    ],
    from_dir: FromDirOption = None,
    hub_keys: HubKeysOption = None,
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
        history, _ = load_history(settings, from_dir, _trusted(settings, hub_keys))
    except HubError as exc:
        raise _unreadable(exc) from exc
    partition = history.partition_of(text)
    if partition is None:
        partition = partition_for(text.encode(), settings.partitions)
    assert moment is not None  # noqa: S101  # --time is required, so it was parsed
    typer.echo(json.dumps(subject_at(history, text, moment, partition), indent=2))
