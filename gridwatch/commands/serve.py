"""`gridwatch api`: the REST API alone (contract §6), served by uvicorn.

Settings come from flags, then GRIDWATCH_* environment variables, then defaults; they are
built here once and handed to `create_app`.
"""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from gridwatch.flags import settings_with_flags
from services.api.app import create_app
from services.api.settings import ApiSettings


def command(
    site: Annotated[
        str | None, typer.Option("--site", help="Site YAML file [env GRIDWATCH_SITE].")
    ] = None,
    db_url: Annotated[
        str | None, typer.Option("--db-url", help="Ticket database URL [env GRIDWATCH_DB_URL].")
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Listen port.")] = None,
    influx_url: Annotated[
        str | None, typer.Option("--influx-url", help="[env GRIDWATCH_INFLUX_URL]")
    ] = None,
    mqtt_url: Annotated[
        str | None,
        typer.Option("--mqtt-url", help="Broker for ticket notices [env GRIDWATCH_MQTT_URL]."),
    ] = None,
) -> None:
    """Serve the REST API (default http://127.0.0.1:8080, env GRIDWATCH_HTTP)."""
    settings = settings_with_flags(
        ApiSettings,
        site=site,
        db_url=db_url,
        influx_url=influx_url,
        mqtt_url=mqtt_url,
    )
    if not settings.site:
        typer.echo("error: name the site file with --site or GRIDWATCH_SITE", err=True)
        raise typer.Exit(2)
    default_host, default_port = settings.host_port
    uvicorn.run(
        create_app(settings),
        host=host or default_host,
        port=port or default_port,
        log_level="info",
    )
