"""`gridwatch gateway`: MQTT readings into InfluxDB, validated against the site registry.

Settings come from the shared flags, then GRIDWATCH_* environment variables, then defaults
(gridwatch/settings.py); committed measurements go to the rule engine, which opens and updates
tickets; rejections to the SQL store the API reads.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer
from prometheus_client import start_http_server

from adapters import heap
from adapters.logs import configure_logging
from domain.settings import Settings
from domain.site import Registry, SiteError
from gateway.identity import WorkerIdentityError, check_workers, gateway_workers
from gridwatch import flags
from gridwatch.hub import build_front, open_alarms, run_front
from services.registry.changes import RegistryEmpty
from services.registry.runtime import open_registry
from services.rules.book import RuleBook, load_rules
from services.rules.overrides import RuleError

log = logging.getLogger("gridwatch.gateway")


def command(
    site: flags.Site = None,
    mqtt_url: flags.MqttUrl = None,
    influx_url: flags.InfluxUrl = None,
    influx_db: flags.InfluxDb = None,
    topic_prefix: flags.TopicPrefix = None,
    client_id: flags.MqttClientId = None,
    rules: flags.Rules = None,
    db_url: flags.DbUrl = None,
    workers: flags.Workers = None,
    metrics_port: Annotated[
        int, typer.Option(help="Serve Prometheus metrics on this port (0: off).")
    ] = 0,
    log_level: flags.LogLevel = None,
    log_format: flags.LogFormat = None,
    env_file: flags.EnvFile = None,
) -> None:
    """Run the gateway: subscribe to {prefix}/+/+/telemetry and /status with QoS 1 and a
    durable session, validate readings, write them to InfluxDB in batches and acknowledge them
    only once stored. SIGTERM or Ctrl-C stops taking messages and flushes what is held."""
    settings = flags.settings(
        env_file,
        site=site,
        mqtt_url=mqtt_url,
        influx_url=influx_url,
        influx_db=influx_db,
        topic_prefix=topic_prefix,
        mqtt_client_id=client_id,
        rules=rules,
        db_url=db_url,
        gateway_workers=workers,
        log_level=log_level,
        log_format=log_format,
    ).settings
    configure_logging(settings.log)
    try:
        # The database's registry, seeded from the site file when it holds none.
        registry = open_registry(settings.db.url, settings.site)
        book = load_rules(settings.rules, registry=registry)
    except (SiteError, RuleError, RegistryEmpty) as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None
    workers = gateway_workers(settings)
    if workers > 1:
        try:
            check_workers(settings, workers)
        except WorkerIdentityError as e:
            typer.echo(str(e), err=True)
            raise typer.Exit(2) from None
    asyncio.run(_serve(settings, registry, book, workers, metrics_port))


async def _serve(
    settings: Settings, registry: Registry, book: RuleBook, workers: int, metrics_port: int
) -> None:
    async with open_alarms(settings, registry, book) as alarms:
        front = build_front(settings, registry, alarms.sinks, workers)
        frozen = heap.settle()  # the registry and the engine's state: out of the GC's walks
        if metrics_port:
            start_http_server(metrics_port, registry=front.metrics_registry)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, front.stop)
        log.info(
            "gateway: %d sensors, %s -> %s db %s, %d worker(s); %d objects frozen",
            len(registry),
            f"{settings.mqtt.endpoint.host}:{settings.mqtt.endpoint.port}",
            settings.influx.url_or_default,
            settings.influx.db,
            workers,
            frozen,
        )
        await run_front(front, settings)
    log.info("gateway stopped")
