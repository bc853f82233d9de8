"""`gridwatch config show|sample`: what the settings are, and the commented file to start from.

`show` prints the effective settings with the same flags, environment and env file a command
would read — secrets and URL passwords masked — and where each value came from, so an operator
can check a host's configuration without starting anything. `sample` writes the commented
sample env file generated from the model (deploy/gridwatch.env.example is its output).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridwatch import flags
from gridwatch.envfile import sample as sample_text
from gridwatch.envfile import show as show_text

app = typer.Typer(help="Settings: show the effective ones, write a sample.", no_args_is_help=True)


@app.command("show")
def show(
    site: flags.Site = None,
    mqtt_url: flags.MqttUrl = None,
    influx_url: flags.InfluxUrl = None,
    influx_db: flags.InfluxDb = None,
    db_url: flags.DbUrl = None,
    topic_prefix: flags.TopicPrefix = None,
    client_id: flags.MqttClientId = None,
    rules: flags.Rules = None,
    http: flags.Http = None,
    log_level: flags.LogLevel = None,
    log_format: flags.LogFormat = None,
    env_file: flags.EnvFile = None,
) -> None:
    """Print every setting, its value (secrets masked) and its source: flag, env VAR, env
    file, or default."""
    loaded = flags.settings(
        env_file,
        site=site,
        mqtt_url=mqtt_url,
        influx_url=influx_url,
        influx_db=influx_db,
        db_url=db_url,
        topic_prefix=topic_prefix,
        mqtt_client_id=client_id,
        rules=rules,
        http=http,
        log_level=log_level,
        log_format=log_format,
    )
    typer.echo(show_text(loaded), nl=False)
    for name in loaded.unknown:
        typer.echo(f"warning: {name} is not a setting (ignored; a typo?)", err=True)


@app.command("sample")
def sample(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write here (default: standard output).")
    ] = None,
) -> None:
    """Write the commented sample env file generated from the settings model."""
    if out is None:
        typer.echo(sample_text(), nl=False)
        return
    out.write_text(sample_text(), encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)
