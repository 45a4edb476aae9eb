"""``hub alerts``: read a partnership's alert stream, replay what was missed, forward to a webhook.

Register with ``app.add_typer(alerts.app, name="alerts")``. ``tail`` is the partnership's tool
(it needs the partnership's private key); ``replay`` and ``forward`` move records unchanged,
still encrypted and signed, and need no private key. See ``docs/alerts.md``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import aclosing
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.alerts import AlertRecord, Heartbeat, OpenedAlert
from hub.alerts.body import canonical_json
from hub.config import Settings, load_settings
from hub.errors import HubError
from hub.log import configure_logging
from hub.partnership import (
    AlertReader,
    Delivery,
    ForwardConfig,
    Gap,
    PartnershipKeys,
    ReadOptions,
    Rejected,
    StreamItem,
    WebhookSender,
    forward,
    load_hpke_keys,
    load_hub_keys,
    read_records,
)

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
#: Exit status of ``tail --no-follow`` when a gap stayed open or a record was rejected.
EXIT_INCOMPLETE = 3

PartnershipOption = Annotated[str, typer.Option("--partnership", help="partnership id")]
FromSeqOption = Annotated[int, typer.Option("--from-seq", min=1, help="first sequence number")]
WaitOption = Annotated[
    float, typer.Option("--wait", min=0.2, help="without --follow: stop after this many quiet s")
]
HubKeysOption = Annotated[
    Path | None,
    typer.Option(
        "--hub-keys", help="hub public key bundle (JSON) or keyring dir; default HUB_KEYS_DIR"
    ),
]


def _fail(exc: HubError) -> typer.Exit:
    typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
    return typer.Exit(code=1)


@app.command()
def tail(
    *,
    partnership: PartnershipOption,
    key: Annotated[
        list[Path],
        typer.Option("--key", help="HPKE key file or keyring dir; repeat during a rotation"),
    ],
    hub_keys: HubKeysOption = None,
    from_seq: FromSeqOption = 1,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    follow: Annotated[bool, typer.Option(help="keep reading for new alerts")] = True,
    wait: WaitOption = 2.0,
) -> None:
    """Verify, decrypt and print a partnership's alerts, dropping duplicates, reporting gaps."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        keys = PartnershipKeys(
            partnership,
            load_hpke_keys(key, partnership),
            load_hub_keys(hub_keys or settings.keys_dir),
        )
        reader = AlertReader(
            settings, keys, from_seq=from_seq, options=ReadOptions(0, follow, wait)
        )
        asyncio.run(_print_stream(reader, as_json))
    except HubError as exc:
        raise _fail(exc) from exc
    stats = reader.stats
    typer.echo(
        f"{stats.delivered} delivered, {stats.duplicates} duplicates dropped, "
        f"{stats.gaps} gaps, {stats.rejected} rejected, next offset {stats.next_offset}",
        err=True,
    )
    if reader.tracker.missing or stats.rejected:
        raise typer.Exit(code=EXIT_INCOMPLETE)


async def _print_stream(reader: AlertReader, as_json: bool) -> None:
    async for item in reader:
        text = json.dumps(_item_json(item), sort_keys=True) if as_json else _item_text(item)
        to_stderr = not as_json and isinstance(item, Gap | Rejected)
        typer.echo(text, err=to_stderr)


def _item_json(item: StreamItem) -> dict[str, Any]:
    if isinstance(item, OpenedAlert):
        return {"type": "alert", "seq": item.seq, "hub_key": item.hub_key,
                "recipient_key": item.recipient_key, "body": item.body.to_json()}  # fmt: skip
    if isinstance(item, Heartbeat):
        return {"type": "heartbeat", "last_seq": item.last_seq, "at": item.at.isoformat()}
    if isinstance(item, Gap):
        return {"type": "gap", "missing_from": item.missing_from, "missing_to": item.missing_to}
    return {"type": "rejected", "offset": item.offset, "error": item.error, "reason": item.reason}


def _item_text(item: StreamItem) -> str:
    if isinstance(item, OpenedAlert):
        b = item.body
        return (
            f"#{item.seq} {b.kind.value} {b.alert_id} flag={b.flag_id} severity={b.severity} "
            f"rule={b.rule.id}@{b.rule.version} subject={b.subject} "
            f"window={b.window_start}..{b.window_end} events={len(b.events)} "
            f"ask={','.join(b.ask)}\n    {b.rule.title}: {b.rule.explanation}"
        )
    if isinstance(item, Heartbeat):
        return f"heartbeat: last sequence number sent {item.last_seq} at {item.at.isoformat()}"
    if isinstance(item, Gap):
        return (
            f"gap: alerts {item.missing_from}..{item.missing_to} missing; "
            f"`hub alerts replay --from-seq {item.missing_from}` re-sends them"
        )
    return f"rejected: record at offset {item.offset}: {item.error} ({item.reason})"


@app.command()
def replay(
    *,
    partnership: PartnershipOption,
    from_seq: FromSeqOption,
    to_seq: Annotated[int | None, typer.Option("--to-seq", min=1, help="last one")] = None,
    url: Annotated[str | None, typer.Option("--url", help="POST to this webhook")] = None,
    secret_file: Annotated[Path | None, typer.Option("--secret-file")] = None,
    wait: WaitOption = 2.0,
) -> None:
    """Re-send alert records numbered from N (to M) unchanged: JSON lines, or POSTed to URL."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    secret = _secret(secret_file)
    try:
        sent = asyncio.run(
            _replay(settings, partnership, (from_seq, to_seq), url=url, secret=secret, wait=wait)
        )
    except HubError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{sent} records re-sent", err=True)


async def _replay(
    settings: Settings,
    partnership: str,
    seqs: tuple[int, int | None],
    *,
    url: str | None,
    secret: bytes | None,
    wait: float,
) -> int:
    low, high = seqs
    sent = 0
    records = read_records(settings, partnership, ReadOptions(0, follow=False, idle_s=wait))
    async with aclosing(records) as stream, WebhookSender(url or "", secret) as sender:
        async for positioned in stream:
            seq = _seq_of(positioned.record)
            if seq is None or seq < low:
                continue
            if high is not None and seq > high:
                break
            body = canonical_json(positioned.record.to_json())
            if url is None:
                sys.stdout.write(body.decode() + "\n")
            else:
                await sender.deliver(Delivery(body, seq, positioned.record.key.decode()))
            sent += 1
    return sent


def _seq_of(record: AlertRecord) -> int | None:
    """The record's claimed sequence number (unverified: the receiver verifies), or None."""
    try:
        return record.meta().seq
    except HubError:
        return None


def _secret(path: Path | None) -> bytes | None:
    if path is None:
        return None
    secret = path.read_bytes().strip()
    if not secret:
        typer.echo(f"error: {path} is empty", err=True)
        raise typer.Exit(code=1)
    return secret


@app.command("forward")
def forward_command(
    *,
    partnership: PartnershipOption,
    url: Annotated[str, typer.Option("--url", help="the partnership system's webhook")],
    secret_file: Annotated[
        Path | None, typer.Option("--secret-file", help="shared secret for X-VRU-Signature")
    ] = None,
    from_seq: FromSeqOption = 1,
    state_file: Annotated[
        Path | None, typer.Option("--state-file", help="default HUB_STATE_DIR/forward-ID.json")
    ] = None,
    hub_keys: HubKeysOption = None,
    follow: Annotated[bool, typer.Option(help="keep forwarding new alerts")] = True,
    wait: WaitOption = 2.0,
) -> None:
    """POST each alert record, in order, to a webhook; retry for ever; resume after a restart."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    secret = _secret(secret_file)
    if secret is None:
        typer.echo("warning: no --secret-file: requests carry no X-VRU-Signature", err=True)
    try:
        config = ForwardConfig(
            url=url,
            secret=secret,
            state_file=state_file or settings.state_dir / f"forward-{partnership}.json",
            hub_keys=load_hub_keys(hub_keys or settings.keys_dir),
            from_seq=from_seq,
        )
        stats = asyncio.run(forward(settings, partnership, config, ReadOptions(0, follow, wait)))
    except HubError as exc:
        raise _fail(exc) from exc
    typer.echo(
        f"{stats.forwarded} alerts and {stats.heartbeats} heartbeats forwarded in "
        f"{stats.attempts} attempts; {stats.skipped} already sent, {stats.rejected} rejected",
        err=True,
    )


if __name__ == "__main__":
    app()
