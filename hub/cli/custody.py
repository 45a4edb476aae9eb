"""``hub keys agency|partnership|linkage|governance init DIR``: a party's own keys, made on its
own machine; ``hub keys governance trust FILE``: the hub's keyring takes governance's public key.

Each writes a keyring directory (0700, one 0600 file per key) that never leaves the party,
and, for a key pair, a public key file under ``DIR/public/`` to send the hub, which onboards
with ``hub registry add-agency|add-partnership --public-key FILE``. Compare the key id the
command prints with the one the hub reports (``hub registry list``) over another channel.
See ``docs/keys.md`` and ``docs/deploy.md`` (key custody).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from hub.config import load_settings
from hub.crypto import (
    AGENCIES,
    GOVERNANCE,
    KeyInfo,
    KeyKind,
    Keyring,
    agency_owner,
    partnership_owner,
)
from hub.crypto.custody import init_party_keys, read_public_key
from hub.errors import HubError

agency_app = typer.Typer(no_args_is_help=True, help="An agency's own keys (run at the agency).")
partnership_app = typer.Typer(
    no_args_is_help=True, help="A partnership's own keys (run at the partnership)."
)
linkage_app = typer.Typer(
    no_args_is_help=True, help="The agencies' shared linkage key (run by its custodian)."
)
governance_app = typer.Typer(
    no_args_is_help=True,
    help="Information governance's signing key (agreements, suspensions, switch markers).",
)

DirArgument = Annotated[Path, typer.Argument(help="the party's own keyring directory")]
IdOption = Annotated[str, typer.Option("--id", help="the party's id in the registry")]


def _init(root: Path, owner: str, kinds: tuple[KeyKind, ...]) -> None:
    try:
        infos, publics = init_party_keys(root, owner, kinds, datetime.now(UTC))
    except HubError as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    for info in infos:
        typer.echo(f"{_describe(info)} in {root} (keep it there: it never leaves {owner})")
    for path in publics:
        typer.echo(f"public key to send the hub: {path}")


def _describe(info: KeyInfo) -> str:
    return f"{info.owner} {info.kind.value} key {info.key_id}"


@agency_app.command("init")
def agency_init(directory: DirArgument, agency: IdOption) -> None:
    """Make the agency's feed signing key pair (Ed25519); write its public key file."""
    _init(directory, agency_owner(agency), (KeyKind.SIGNING,))


@partnership_app.command("init")
def partnership_init(directory: DirArgument, partnership: IdOption) -> None:
    """Make the partnership's alert encryption key pair (X25519 HPKE); write its public key file."""
    _init(directory, partnership_owner(partnership), (KeyKind.HPKE,))


@linkage_app.command("init")
def linkage_init(directory: DirArgument) -> None:
    """Make the agencies' linkage key (HMAC-SHA256). The hub never holds it: its custodian
    copies the key file into each agency's keyring under the agreement's secure channel."""
    _init(directory, AGENCIES, (KeyKind.LINKAGE,))


@governance_app.command("init")
def governance_init(directory: DirArgument) -> None:
    """Make information governance's signing key pair (Ed25519), kept by governance; write its
    public key file for every worker's keyring (``hub keys governance trust``)."""
    _init(directory, GOVERNANCE, (KeyKind.SIGNING,))


@governance_app.command("trust")
def governance_trust(
    public_key: Annotated[Path, typer.Argument(help="governance's public key file")],
    keyring_dir: Annotated[
        Path | None, typer.Option("--keyring", help="the hub's keyring; default HUB_KEYS_DIR")
    ] = None,
) -> None:
    """Add governance's public key to the hub's keyring: workers then apply what it signs.

    Compare the key id printed here with the one governance reports, over another channel.
    """
    root = keyring_dir or load_settings().keys_dir
    try:
        info = read_public_key(public_key, GOVERNANCE, KeyKind.SIGNING)
        Keyring.open(root).add(info, None)
    except HubError as exc:
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(f"{_describe(info)} trusted in {root}")
