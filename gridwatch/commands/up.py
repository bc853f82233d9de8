"""`gridwatch up` (stub: filled in by its issue)."""

from __future__ import annotations

import typer


def command() -> None:
    """Not implemented yet."""
    typer.echo("not implemented yet", err=True)
    raise typer.Exit(2)
