"""``hub keys``: create a development keyring and list what a keyring holds (never secrets)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from hub.crypto.keyring import Keyring
from hub.crypto.provision import create_dev_keyring
from hub.errors import ConfigError, KeyringError
from hub.registry import load_registry

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

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
    for info in keyring.infos():
        row = {
            "owner": info.owner,
            "kind": info.kind.value,
            "key_id": info.key_id,
            "status": info.status.value,
            "age": _age(info.age(now)),
            "created_at": info.created_at.isoformat(timespec="seconds"),
            "not_after": info.not_after.isoformat(timespec="seconds") if info.not_after else None,
        }
        if as_json:
            typer.echo(json.dumps(row))
        else:
            typer.echo(
                f"{row['owner']:<32} {row['kind']:<16} {row['key_id']} {row['status']:<8} "
                f"{row['age']}"
            )


def _age(age: timedelta) -> str:
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
