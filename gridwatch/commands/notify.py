"""`gridwatch notify test CHANNEL_ID`: send a test message to one channel of the site file's
`channels:` (contract §8) and print the channel's answer (exit 0 when it took the message, 1
when it did not, 2 for an unknown channel or bad settings)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from gridwatch import flags
from services.notify.directory import SiteDirectory
from services.notify.probe import send_probe
from services.ticketing import senders_of

app = typer.Typer(help="Notification channels.", no_args_is_help=True)


@app.command("test")
def probe(
    channel: Annotated[str, typer.Argument(help="The channel's id in the site file.")],
    site: flags.Site = None,
    env_file: flags.EnvFile = None,
) -> None:
    """Send a test message to CHANNEL and print its answer."""
    settings = flags.settings(env_file, site=site).settings
    registry = flags.site_registry(settings)
    directory = SiteDirectory(registry)
    spec = directory.channel(channel)
    if spec is None:
        known = ", ".join(c.id for c in directory.channels()) or "none"
        typer.echo(f"error: no channel {channel!r} (channels: {known})", err=True)
        raise typer.Exit(2)
    n = settings.notify
    outcome = asyncio.run(
        send_probe(spec, directory, senders_of(settings), n.public_url, n.send_timeout_s)
    )
    typer.echo(f"{spec.id} ({spec.type}): {outcome.status} — {outcome.detail}")
    if outcome.answer:
        typer.echo(f"answer: {outcome.answer}")
    if outcome.status != "sent":
        raise typer.Exit(1)
