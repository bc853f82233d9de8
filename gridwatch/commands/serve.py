"""`gridwatch api`: the REST API alone (contract §6), served by uvicorn.

Settings come from the shared flags, then GRIDWATCH_* environment variables, then defaults;
they are built here once and handed to `create_app`.
"""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from adapters.logs import configure_logging
from gridwatch import flags
from gridwatch.logins import device_logins
from services.api.app import create_app


def command(
    site: flags.Site = None,
    db_url: flags.DbUrl = None,
    host: Annotated[str | None, typer.Option("--host", help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Listen port.")] = None,
    influx_url: flags.InfluxUrl = None,
    influx_db: flags.InfluxDb = None,
    mqtt_url: flags.MqttUrl = None,
    http: flags.Http = None,
    rules: flags.Rules = None,
    log_level: flags.LogLevel = None,
    log_format: flags.LogFormat = None,
    env_file: flags.EnvFile = None,
) -> None:
    """Serve the REST API (default http://127.0.0.1:8080, env GRIDWATCH_HTTP)."""
    settings = flags.settings(
        env_file,
        site=site,
        db_url=db_url,
        influx_url=influx_url,
        influx_db=influx_db,
        mqtt_url=mqtt_url,
        http=http,
        rules=rules,
        log_level=log_level,
        log_format=log_format,
    ).settings
    configure_logging(settings.log)
    if not settings.site:
        typer.echo("error: name the site file with --site or GRIDWATCH_SITE", err=True)
        raise typer.Exit(2)
    default_host, default_port = settings.api.host_port
    uvicorn.run(
        create_app(settings, logins=device_logins(settings)),
        host=host or default_host,
        port=port or default_port,
        log_config=None,  # our handlers and format (adapters/logs.py)
        log_level=None,  # uvicorn's loggers follow GRIDWATCH_LOG_LEVEL through the root
        access_log=False,  # a line per request is chatter, not an event
    )
