"""`gridwatch gateway`: MQTT readings into InfluxDB, validated against the site registry.

Settings come from GRIDWATCH_* environment variables (gateway/settings.py for ingest,
services/ticketing.py for tickets); the options here override them. Committed measurements go
to the rule engine, which opens and updates tickets; rejections to the SQL store the API reads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Annotated

import typer
from prometheus_client import start_http_server
from pydantic import ValidationError

from domain.site import Registry, SiteError, load_site
from gateway.cluster import Cluster
from gateway.metrics import GatewayMetrics
from gateway.service import Gateway
from gateway.settings import GatewaySettings
from gridwatch.cluster import run_cluster
from gridwatch.flags import settings_with_flags
from gridwatch.hub import run_gateway
from services.alarms import Alarms
from services.rules.book import RuleBook, RuleError, load_rules
from services.ticketing import TicketingSettings

log = logging.getLogger("gridwatch.gateway")


def command(
    site: Annotated[
        Path | None,
        typer.Option(help="Site registry YAML (communities, grids, sensors). Env: GRIDWATCH_SITE."),
    ] = None,
    mqtt_url: Annotated[
        str | None,
        typer.Option(help="Broker, mqtt://user:pass@host:port. Env: GRIDWATCH_MQTT_URL."),
    ] = None,
    influx_url: Annotated[
        str | None, typer.Option(help="InfluxDB base URL. Env: GRIDWATCH_INFLUX_URL.")
    ] = None,
    influx_db: Annotated[
        str | None, typer.Option(help="InfluxDB database. Env: GRIDWATCH_INFLUX_DB.")
    ] = None,
    topic_prefix: Annotated[
        str | None, typer.Option(help="MQTT topic prefix. Env: GRIDWATCH_TOPIC_PREFIX.")
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(help="MQTT client id of the durable session. Env: GRIDWATCH_MQTT_CLIENT_ID."),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(help="Rule overrides YAML merged onto the defaults. Env: GRIDWATCH_RULES."),
    ] = None,
    db_url: Annotated[
        str | None, typer.Option(help="Ticket database URL. Env: GRIDWATCH_DB_URL.")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Gateway worker processes on one MQTT v5 $share subscription (1: in-process).",
        ),
    ] = 1,
    metrics_port: Annotated[
        int, typer.Option(help="Serve Prometheus metrics on this port (0: off).")
    ] = 0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the gateway: subscribe to {prefix}/+/+/telemetry and /status with QoS 1 and a
    durable session, validate readings, write them to InfluxDB in batches and acknowledge them
    only once stored. SIGTERM or Ctrl-C stops taking messages and flushes what is held."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = settings_with_flags(
            GatewaySettings,
            site=site,
            mqtt_url=mqtt_url,
            influx_url=influx_url,
            influx_db=influx_db,
            topic_prefix=topic_prefix,
            mqtt_client_id=client_id,
        )
    except ValidationError as e:
        typer.echo(f"invalid settings:\n{e}", err=True)
        raise typer.Exit(2) from None
    if settings.site is None:
        typer.echo("no site registry: pass --site FILE or set GRIDWATCH_SITE", err=True)
        raise typer.Exit(2)
    ticketing = TicketingSettings()
    if db_url:
        ticketing = ticketing.model_copy(update={"db_url": db_url})
    rules_file = rules or (Path(p) if (p := os.environ.get("GRIDWATCH_RULES")) else None)
    try:
        registry = Registry(load_site(settings.site))
        book = load_rules(rules_file, registry=registry)
    except (SiteError, RuleError) as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None
    metrics = GatewayMetrics()
    if metrics_port:
        start_http_server(metrics_port, registry=metrics.registry)
    if workers > 1:
        asyncio.run(_serve_cluster(settings, ticketing, registry, book, workers))
        return
    asyncio.run(_serve(settings, ticketing, registry, book, metrics))


async def _serve_cluster(
    settings: GatewaySettings,
    ticketing: TicketingSettings,
    registry: Registry,
    book: RuleBook,
    workers: int,
) -> None:
    loop = asyncio.get_running_loop()

    def ready(cluster: Cluster, _alarms: Alarms) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, cluster.stop)
        log.info("gateway: %d sensors, %d workers on $share", len(registry), workers)

    await run_cluster(settings, ticketing, registry, book, workers=workers, on_ready=ready)
    log.info("gateway stopped")


async def _serve(
    settings: GatewaySettings,
    ticketing: TicketingSettings,
    registry: Registry,
    book: RuleBook,
    metrics: GatewayMetrics,
) -> None:
    loop = asyncio.get_running_loop()

    def ready(gateway: Gateway, _alarms: Alarms) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, gateway.stop)
        log.info(
            "gateway: %d sensors, %s -> %s db %s",
            len(registry), settings.mqtt_url, settings.influx_url, settings.influx_db,
        )  # fmt: skip

    await run_gateway(settings, ticketing, registry, book, metrics=metrics, on_ready=ready)
    log.info("gateway stopped")
