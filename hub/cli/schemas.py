"""``hub schemas``: check the Avro event contracts before they ship."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.codec.evolution import check_tree

app = typer.Typer(
    no_args_is_help=True,
    help="Check the Avro event contracts: parsing, versions and backward compatibility.",
)


@app.callback()
def schemas() -> None:
    """Check the Avro event contracts: parsing, versions and backward compatibility."""


@app.command()
def check(
    schemas_dir: Annotated[
        Path, typer.Argument(help="schemas directory to check (the proposed one)")
    ] = Path("schemas"),
    against: Annotated[
        Path | None,
        typer.Option(help="published schemas directory the proposed one must stay compatible with"),
    ] = None,
) -> None:
    """Check every schema parses, versions are consecutive and each is backward compatible."""
    problems = check_tree(schemas_dir, against)
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {schemas_dir}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"{schemas_dir}: all schemas parse, versions are consecutive and compatible")
