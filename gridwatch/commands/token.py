"""`gridwatch token create|list|revoke|link|links|revoke-link`: API tokens, stored hashed in
the ticket database, and one-time sign-in links for phones.

`create` prints the token as the last word of its output, so scripts can take it with
`| awk '{print $NF}'`; it is shown once and cannot be recovered, only revoked. With `--qr` it
prints no token at all: a one-time sign-in link and its QR code instead (and `--png FILE`
writes the code as an image) — the phone that opens it becomes the token's holder.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from gridwatch import flags
from services.auth.links import LinkNotFound, NewLink, SignInLinks
from services.auth.tokens import TokenError, TokenStore
from services.db.engine import open_database
from services.qr import png, terminal

app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)

DbUrl = flags.DbUrl


def _store(db_url: str | None) -> TokenStore:
    """The token store of the database the flag, GRIDWATCH_DB_URL or the default names."""
    return TokenStore(open_database(flags.settings(db_url=db_url).settings.db.url))


def _links(db_url: str | None) -> tuple[SignInLinks, str]:
    settings = flags.settings(db_url=db_url).settings
    return SignInLinks(open_database(settings.db.url)), settings.notify.public_url


QrFlag = Annotated[
    bool,
    typer.Option(
        "--qr",
        help="Print a one-time sign-in link and its QR code instead of the token (24 h, once).",
    ),
]
PngFlag = Annotated[
    Path | None, typer.Option("--png", help="Also write the link's QR code to this PNG file.")
]


def _show_link(link: NewLink, public_url: str, png_path: Path | None) -> None:
    """The link, its QR code in the terminal, and the PNG if asked; nothing is logged."""
    url = link.url(public_url)
    expires = datetime.fromtimestamp(link.expires_at_ns / 1e9, tz=UTC).isoformat(timespec="seconds")
    typer.echo(terminal(url), nl=False)
    if png_path is not None:
        png_path.write_bytes(png(url))
        typer.echo(f"QR code written to {png_path}")
    typer.echo(f"one-time sign-in link {link.id} for {link.token_name!r}, until {expires}:")
    typer.echo(url)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who holds the token (unique).")],
    role: Annotated[str, typer.Option("--role", help="crew, officer or admin.")],
    grid: Annotated[
        list[str] | None, typer.Option("--grid", help="A grid cell of a crew token (repeat).")
    ] = None,
    display_name: Annotated[
        str, typer.Option("--display-name", help="The person's name timelines show.")
    ] = "",
    qr: QrFlag = False,
    png_path: PngFlag = None,
    db_url: DbUrl = None,
) -> None:
    """Create a token; prints it as the last word (shown once), or with --qr a sign-in link."""
    try:
        secret = _store(db_url).create(name, role, tuple(grid or ()), display_name)
    except TokenError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    scope = f" for grid {', '.join(grid)}" if grid else ""
    if not qr:
        typer.echo(f"created {role} token {name!r}{scope}: {secret}")
        return
    links, public_url = _links(db_url)
    typer.echo(f"created {role} token {name!r}{scope}")
    _show_link(links.create(name, "cli"), public_url, png_path)


@app.command("link")
def link(
    name: Annotated[str, typer.Argument(help="The token whose holder signs in.")],
    png_path: PngFlag = None,
    db_url: DbUrl = None,
) -> None:
    """A one-time sign-in link (and QR code) for an existing token's holder (24 h, once)."""
    links, public_url = _links(db_url)
    try:
        new = links.create(name, "cli")
    except TokenError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    _show_link(new, public_url, png_path)


@app.command("links")
def links_(db_url: DbUrl = None) -> None:
    """List sign-in links (id, token, state, expiry; never the secrets)."""
    links, _ = _links(db_url)
    now = links.clock()
    for x in links.list():
        expires = datetime.fromtimestamp(x.expires_at_ns / 1e9, tz=UTC).isoformat(
            timespec="seconds"
        )
        typer.echo(f"{x.id}\t{x.token_name}\t{x.state(now)}\t{expires}")


@app.command("revoke-link")
def revoke_link(link_id: Annotated[int, typer.Argument()], db_url: DbUrl = None) -> None:
    """Revoke a sign-in link: it can no longer be used."""
    links, _ = _links(db_url)
    try:
        links.revoke(link_id)
    except LinkNotFound as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked sign-in link {link_id}")


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
