"""`gridwatch token create|list|revoke` (stub: filled in by its issue)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """Not implemented yet."""
    raise typer.Exit(2)
