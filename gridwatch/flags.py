"""The command-line options every command shares, declared once: each is one setting of
`domain.settings.Settings`, spelled as its flat name (`--influx-url` is `influx_url`), with its
help taken from the field's description and the variable that also sets it.

A command lists the options it takes (`site: flags.Site = None`) and hands the given ones to
`settings(...)`: flags > `GRIDWATCH_*` environment > env file (`--env-file`) > defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from adapters import heap
from domain.settings import Settings
from domain.site import Registry, SiteError, load_site
from gridwatch.settings import Loaded, SettingsError, env_name, load


def _help(flat: str, extra: str = "") -> str:
    """The field's description and its variable: one wording for --help and the sample
    (in parentheses: typer's rich help takes [brackets] for markup and drops them)."""
    leaf = Settings.flat_names()[flat]
    description = Settings.field_info(*leaf).description or flat
    return f"{description[0].upper()}{description[1:]}{extra} (env {env_name(leaf)})."


def _option(flat: str, *aliases: str) -> Any:
    return typer.Option(
        "--" + flat.replace("_", "-"), *aliases, help=_help(flat), show_default=False
    )


Site = Annotated[Path | None, _option("site")]
Rules = Annotated[Path | None, _option("rules")]
TopicPrefix = Annotated[str | None, _option("topic_prefix")]
MqttUrl = Annotated[str | None, _option("mqtt_url")]
MqttClientId = Annotated[str | None, _option("mqtt_client_id", "--client-id")]
InfluxUrl = Annotated[str | None, _option("influx_url")]
InfluxDb = Annotated[str | None, _option("influx_db")]
DbUrl = Annotated[str | None, _option("db_url")]
Http = Annotated[str | None, _option("http")]
LogLevel = Annotated[str | None, _option("log_level")]
LogFormat = Annotated[str | None, _option("log_format")]
Workers = Annotated[
    int | None,
    typer.Option("--workers", min=0, max=64, help=_help("gateway_workers"), show_default=False),
]
EnvFile = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        help="Read GRIDWATCH_* settings from this file too (the environment wins over it).",
        show_default=False,
    ),
]


def settings(env_file: Path | None = None, **flags: Any) -> Loaded:
    """The settings with the given flags on top (a None flag was not given); bad settings
    end the command with exit status 2 and a message naming the variable or flag."""
    try:
        return load(flags, env_file=env_file)
    except SettingsError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


def site_registry(settings: Settings) -> Registry:
    """The registry of the site the settings name, for a command that cannot run without one:
    no site named, or one that does not load, ends the command with exit status 2 and why."""
    if not settings.site:
        typer.echo("error: name the site file with --site or GRIDWATCH_SITE", err=True)
        raise typer.Exit(2)
    try:
        with heap.paused():  # a bulk build: every sensor's model (see adapters.heap)
            return Registry(load_site(settings.site))
    except SiteError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
