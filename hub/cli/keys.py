"""``hub keys``: create a development keyring, list what it holds (never secrets), rotate keys.

``rotate`` adds a new key and retires the current one at the end of an overlap window
(``docs/keys.md``, ``docs/operations.md``):
- ``--agency ID``: the agency's feed signing key. Workers re-read the keyring (no restart);
  seals under the old key are accepted while the hub receives them before its not-after.
- ``--partnership ID``: the partnership's HPKE key pair. Workers seal to the new key once
  rolled; the partnership reads with both keys during the overlap.
- with ``--public-key FILE`` (agency or partnership), the hub takes the new key its owner made
  and handed over; without it, the key is generated in DIR, and when DIR is the party's own
  keyring its public key file to hand over is written under DIR/public/.

``agency init``, ``partnership init`` and ``linkage init`` make a party's own keyring on its
own machine (``hub.cli.custody``): the hub only ever receives public key files.
- ``--hub``: the hub's signing key. A rotation head signed by the current key, naming the new
  one, goes to the heads topic first, so the chain of tree heads crosses the change.
- ``--internal``: the hub's internal MAC key (accepted, outbox, table values). Workers re-read
  the keyring when a record names a key they do not know; roll them within the overlap.
- ``--governance``: information governance's signing key (agreements, suspensions, switch
  markers). Its public key must reach every worker's keyring before governance signs with it.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from hub.audit.head import Rotation, TreeHead, rotation_head
from hub.audit.verify import verify_heads
from hub.cli.lazy import lazy_group
from hub.config import Settings, load_settings
from hub.crypto import GOVERNANCE, HUB, KeyInfo, KeyKind, KeyStatus, SigningKey
from hub.crypto.custody import PUBLIC_DIR, is_party_owner, read_public_key, write_public_key
from hub.crypto.keyring import Keyring, agency_owner, partnership_owner
from hub.crypto.provision import create_dev_keyring
from hub.errors import ConfigError, HubError, KeyringError
from hub.registry import load_registry
from hub.transport import Record, kafka_endpoint
from hub.transport.kafka import KafkaTransport
from hub.transport.topiclog import read_partition

#: Each party's own key custody (``hub.cli.custody``), imported when used.
CUSTODY = {
    party: f"hub.cli.custody:{party}_app"
    for party in ("agency", "partnership", "linkage", "governance")
}
app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__, cls=lazy_group(CUSTODY))

RegistryOption = Annotated[
    Path, typer.Option("--registry", help="the registry of agencies and partnerships")
]


@app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="where to write the keyring")],
    registry: RegistryOption = Path("deploy/registry.yaml"),
    force: Annotated[bool, typer.Option("--force", help="replace existing keys")] = False,
) -> None:
    """Create a development keyring for every agency and partnership in the registry."""
    try:
        keyring = create_dev_keyring(
            directory, load_registry(registry), datetime.now(UTC), force=force
        )
    except (KeyringError, ConfigError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    count = sum(1 for _ in keyring.infos())
    typer.echo(f"wrote {count} development keys to {directory} (see {directory / 'README.md'})")


@app.command("list")
def list_keys(
    directory: Annotated[Path, typer.Argument(help="the keyring directory")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per key")] = False,
) -> None:
    """Show every key's owner, kind, id, status and age: no secret ever."""
    try:
        keyring = Keyring.open(directory)
    except KeyringError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    now = datetime.now(UTC)
    held = {(i.owner, i.kind, i.key_id) for i in keyring.secret_infos()}
    for info in keyring.infos():
        row = {
            "owner": info.owner,
            "kind": info.kind.value,
            "key_id": info.key_id,
            "status": info.status.value,
            "age": age_text(info.age(now)),
            "created_at": info.created_at.isoformat(timespec="seconds"),
            "not_after": info.not_after.isoformat(timespec="seconds") if info.not_after else None,
            "holds": "secret" if (info.owner, info.kind, info.key_id) in held else "public",
        }
        if as_json:
            typer.echo(json.dumps(row))
        else:
            typer.echo(
                f"{row['owner']:<32} {row['kind']:<16} {row['key_id']} {row['status']:<8} "
                f"{row['holds']:<6} {row['age']}"
            )


def age_text(age: timedelta) -> str:
    """A short human age: ``3d 4h``, ``5h 2m`` or ``42s``."""
    seconds = int(age.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


_DURATION = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
DEFAULT_OVERLAP = "7d"


def parse_duration(text: str) -> timedelta:
    """``7d``, ``12h``, ``30m``, ``90s`` or a sum like ``1d12h``; BadParameter otherwise."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise typer.BadParameter(f"{text!r} is not a duration like 7d, 12h, 30m or 90s")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))


@app.command("rotate")
def rotate(  # typer maps each keyword-only parameter to one option
    directory: Annotated[
        Path | None, typer.Argument(help="the keyring directory; default HUB_KEYS_DIR")
    ] = None,
    *,
    agency: Annotated[str | None, typer.Option("--agency", help="rotate this agency's key")] = None,
    partnership: Annotated[
        str | None, typer.Option("--partnership", help="rotate this partnership's HPKE key")
    ] = None,
    hub: Annotated[bool, typer.Option("--hub", help="rotate the hub's signing key")] = False,
    internal: Annotated[
        bool, typer.Option("--internal", help="rotate the hub's internal MAC key")
    ] = False,
    governance: Annotated[
        bool, typer.Option("--governance", help="rotate information governance's signing key")
    ] = False,
    overlap: Annotated[
        str, typer.Option("--overlap", help="how long the old key stays acceptable")
    ] = DEFAULT_OVERLAP,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="the new public key file the agency or partnership sent"),
    ] = None,
) -> None:
    """Add a new key and retire the current one at the end of the overlap window."""
    chosen = [x for x in (agency, partnership, hub, internal, governance) if x]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "name exactly one of --agency, --partnership, --hub, --internal, --governance"
        )
    if (hub or internal) and public_key is not None:
        raise typer.BadParameter(
            "--public-key is for an agency's, a partnership's or governance's key"
        )
    window = parse_duration(overlap)
    settings = load_settings()
    root = directory or settings.keys_dir
    now = datetime.now(UTC)
    try:
        keyring = Keyring.open(root)
        if hub:
            new, old = asyncio.run(rotate_hub_key(settings, keyring, now, window))
        else:
            owner, kind = _owner_kind(agency, partnership, internal=internal)
            _require_owner(keyring, owner, kind)
            given = read_public_key(public_key, owner, kind) if public_key else None
            info, retired = keyring.rotate(owner, kind, now, window, public=given)
            new, old = info.key_id, ",".join(r.key_id for r in retired) or "none"
            if given is None and is_party_owner(owner):
                handed = write_public_key(root / PUBLIC_DIR, info)
                typer.echo(f"public key to hand to the hub: {handed}")
    except HubError as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    until = (now + window).isoformat(timespec="seconds")
    typer.echo(f"new key {new}; retired {old}, accepted until {until}")


def _owner_kind(
    agency: str | None, partnership: str | None, *, internal: bool
) -> tuple[str, KeyKind]:
    """The key a non-hub-signing rotation names (governance when nothing else is named)."""
    if agency:
        return agency_owner(agency), KeyKind.SIGNING
    if partnership:
        return partnership_owner(partnership), KeyKind.HPKE
    if internal:
        return HUB, KeyKind.INTERNAL
    return GOVERNANCE, KeyKind.SIGNING


def _require_owner(keyring: Keyring, owner: str, kind: KeyKind) -> None:
    if not keyring.infos_of(owner, kind):
        raise KeyringError(f"{owner} has no {kind.value} key to rotate (is it onboarded?)")


async def rotate_hub_key(
    settings: Settings, keyring: Keyring, now: datetime, overlap: timedelta
) -> tuple[str, str]:
    """Rotate the hub signing key so the chain of tree heads crosses the change.

    1. the new key is stored as ``pending`` (a retry after a failure reuses it);
    2. a rotation head signed by the current key, naming the new one, goes to the heads topic;
    3. the new key becomes active and the old one retires at ``now + overlap``.

    Workers sign with the new key once restarted one by one; until then their heads, signed by
    the old key, stay acceptable up to its retirement. Returns (new key id, old key id).
    """
    old = keyring.signing_key(HUB)
    pending = [i for i in keyring.infos_of(HUB, KeyKind.SIGNING) if i.status is KeyStatus.PENDING]
    if pending:
        new = keyring.signing_key(HUB, pending[-1].key_id)
        info = pending[-1]
    else:
        new = SigningKey.generate()
        info = KeyInfo(HUB, KeyKind.SIGNING, new.key_id, now, KeyStatus.PENDING,
                       public=new.verify_key.raw, not_before=now)  # fmt: skip
        keyring.add(info, new.raw())
    last = await _last_head(settings, keyring)
    at = max(now, last.timestamp) if last is not None else now
    head = rotation_head(last, old, at, Rotation(new.verify_key, at + overlap))
    await _send(settings, head.to_bytes())
    keyring.add(replace(info, status=KeyStatus.ACTIVE), new.raw())
    keyring.retire(HUB, KeyKind.SIGNING, old.key_id, at + overlap)
    return new.key_id, old.key_id


async def _last_head(settings: Settings, keyring: Keyring) -> TreeHead | None:
    """The newest genuine head of the chain (forged heads on the topic are skipped)."""
    values: list[bytes] = []

    def keep(record: Record) -> None:
        values.append(record.value or b"")

    await read_partition(kafka_endpoint(settings), settings.heads_topic, keep)
    return verify_heads(values, keyring.verify_keys(HUB)).last


async def _send(settings: Settings, value: bytes) -> None:
    async with KafkaTransport(kafka_endpoint(settings)) as transport:
        await transport.send(settings.heads_topic, value, key=b"head")
