"""``hub tls init DIR``: development certificates for the compose cluster: NOT for production.

One CA, then: a PEM key store (key and certificate) per broker named in ``HUB_BROKER_URL``
(its host as the certificate's name), one for ``admin`` (the super user that creates topics
and applies ACLs), and a certificate and key for every principal of ``hub acls script``.
``docker-compose.yml`` mounts them as secrets from ``HUB_TLS`` (default ``./.hub/tls``).
Production certificates come from the VRU's own PKI (docs/deploy.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from hub.acls import plan_acls
from hub.config import load_settings
from hub.devcerts import DevAuthority
from hub.runtime import load_registry_from
from hub.transport import parse_servers

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
ADMIN = "admin"


@app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="where to write the certificates")] = Path(
        ".hub/tls"
    ),
    force: Annotated[bool, typer.Option("--force", help="replace existing files")] = False,
) -> None:
    """Write a development CA and a certificate for every broker and principal."""
    if directory.exists() and any(directory.iterdir()) and not force:
        typer.echo(f"error: {directory} is not empty; use --force to replace", err=True)
        raise typer.Exit(code=1)
    settings = load_settings()
    now = datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca = DevAuthority.create("vru-hub-development-ca", now)
    (directory / "ca.crt").write_bytes(ca.cert_pem)
    brokers = [server.rpartition(":")[0] for server in parse_servers(settings.broker_url)]
    for host in brokers:
        ca.issue(host, now, hosts=[host]).keystore(directory)
    ca.issue(ADMIN, now).keystore(directory)
    principals = [p.name for p in plan_acls(settings, load_registry_from(settings))]
    for name in principals:
        ca.issue(name, now).write(directory)
    typer.echo(
        f"wrote a development CA, {len(brokers)} broker key stores, {ADMIN}.pem and "
        f"{len(principals)} client certificates to {directory} (not for production)"
    )
