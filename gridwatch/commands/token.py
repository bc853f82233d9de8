"""`gridwatch token create|list|revoke`: API tokens, stored hashed in the ticket database.

`create` prints the token as the last word of its output, so scripts can take it with
`| awk '{print $NF}'`; it is shown once and cannot be recovered, only revoked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from services.auth.tokens import TokenError, TokenStore
from services.db.engine import open_database

app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)

DbUrl = Annotated[
    str | None,
    typer.Option("--db-url", envvar="GRIDWATCH_DB_URL", help="Database URL (default ./var)."),
]


def _store(db_url: str | None) -> TokenStore:
    return TokenStore(open_database(db_url))


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who holds the token (unique).")],
    role: Annotated[str, typer.Option("--role", help="crew, officer or admin.")],
    grid: Annotated[
        list[str] | None, typer.Option("--grid", help="A grid cell of a crew token (repeat).")
    ] = None,
    db_url: DbUrl = None,
) -> None:
    """Create a token; prints it as the last word (shown once)."""
    try:
        secret = _store(db_url).create(name, role, tuple(grid or ()))
    except TokenError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    scope = f" for grid {', '.join(grid)}" if grid else ""
    typer.echo(f"created {role} token {name!r}{scope}: {secret}")


@app.command("list")
def list_(db_url: DbUrl = None) -> None:
    """List tokens (names, roles, grids; never the secrets)."""
    for t in _store(db_url).list():
        created = datetime.fromtimestamp(t.created_at_ns / 1e9, tz=UTC).isoformat(
            timespec="seconds"
        )
        state = "revoked" if t.revoked else "active"
        typer.echo(f"{t.name}\t{t.role}\t{','.join(t.grids) or '*'}\t{created}\t{state}")


@app.command("revoke")
def revoke(name: Annotated[str, typer.Argument()], db_url: DbUrl = None) -> None:
    """Revoke a token by name: it stops working at once."""
    try:
        _store(db_url).revoke(name)
    except TokenError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {name!r}")
