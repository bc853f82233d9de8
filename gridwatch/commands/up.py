"""`gridwatch up`: the whole hub on one machine, in one process (contract §6).

Uses the broker and InfluxDB the settings name (GRIDWATCH_MQTT_URL, GRIDWATCH_INFLUX_URL), or
starts local ones under `./var/` on free ports: Mosquitto with a configuration generated from
the site (per-device passwords and ACL, persistence; `gridwatch broker-config`) and InfluxDB
1.x. Then it runs the gateway with the rule engine, the ticket service, the API and the web
dashboard, and — unless `--no-sim` — a simulated demo community that first plays the last
`--backfill` of history fast, then goes on in real time. It prints the dashboard address and
demo tokens (new ones each start; the previous demo tokens are revoked).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Generator
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from adapters import heap
from adapters.logs import configure_logging
from domain.duration import parse_duration
from domain.settings import Settings
from domain.site import Registry, Site, SiteError, load_site
from gridwatch import flags
from gridwatch.hub import build_front, open_alarms, run_front
from gridwatch.localhub import Endpoints, one_process_settings, start_services
from gridwatch.localservers import ServiceError, free_port, stop_all
from gridwatch.logins import device_logins
from gridwatch.updemo import demo_tokens, simulate
from services.api.app import create_app
from services.auth.tokens import TokenStore
from services.rules.book import RuleBook, load_rules
from services.rules.overrides import RuleError
from services.ticketing import open_ticketing
from simulators import demo
from simulators.scenario import ScenarioError, load_scenario

log = logging.getLogger("gridwatch.up")


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our event loop: `up` owns the signals and stops the parts in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def command(
    site: Annotated[
        Path | None,
        typer.Option("--site", help="Site YAML (env GRIDWATCH_SITE; default: the demo site)."),
    ] = None,
    no_sim: Annotated[bool, typer.Option("--no-sim", help="Run no simulated community.")] = False,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="Scenario file, or a demo scenario name "
            f"({', '.join(demo.scenario_names())}); default storm-night with the demo site.",
        ),
    ] = None,
    backfill: Annotated[
        str, typer.Option("--backfill", help="History the simulator plays first, fast.")
    ] = "1d",
    speed: Annotated[
        float, typer.Option("--speed", help="How much faster than real time the history plays.")
    ] = 1440.0,
    var: Annotated[
        Path, typer.Option("--var", help="Folder for local services' data and the database.")
    ] = Path("var"),
    http: flags.Http = None,
    mqtt_url: flags.MqttUrl = None,
    influx_url: flags.InfluxUrl = None,
    db_url: flags.DbUrl = None,
    rules: flags.Rules = None,
    log_level: flags.LogLevel = None,
    log_format: flags.LogFormat = None,
    env_file: flags.EnvFile = None,
) -> None:
    """Run the whole hub: broker and InfluxDB (local ones unless configured), gateway, rules,
    tickets, API, web dashboard and a simulated demo community."""
    settings = flags.settings(
        env_file,
        site=site,
        http=http,
        mqtt_url=mqtt_url,
        influx_url=influx_url,
        db_url=db_url,
        rules=rules,
        log_level=log_level,
        log_format=log_format,
    ).settings
    configure_logging(settings.log)
    site_path = settings.site or demo.SITE
    scenario_path: Path | None = None
    if not no_sim:
        if scenario is None and site_path == demo.SITE:
            scenario = "storm-night"
        if scenario is not None:
            named = demo.scenario_path(scenario)
            scenario_path = named if named.is_file() else Path(scenario)
    try:
        with heap.paused():  # a bulk build: every sensor's model (see adapters.heap)
            the_site = load_site(site_path)
            registry = Registry(the_site)
        book = load_rules(settings.rules, registry=registry)
        if scenario_path is not None:
            load_scenario(scenario_path, the_site)
        backfill_s = parse_duration(backfill)
    except (SiteError, RuleError, ScenarioError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    var.mkdir(parents=True, exist_ok=True)
    try:
        ends = start_services(settings, the_site, var.resolve(), sim=not no_sim)
    except ServiceError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    try:
        asyncio.run(
            _run(
                one_process_settings(settings, ends, var),
                the_site,
                registry,
                book,
                ends,
                var,
                scenario_path,
                backfill_s,
                speed,
                no_sim,
            )
        )
    finally:
        stop_all(*reversed(ends.started))


async def _run(
    settings: Settings,
    the_site: Site,
    registry: Registry,
    book: RuleBook,
    ends: Endpoints,
    var: Path,
    scenario: Path | None,
    backfill_s: float,
    speed: float,
    no_sim: bool,
) -> None:
    host, port = settings.api.host_port
    if port != 0 and not _port_free(host, port):
        port = free_port(host)
    async with (
        open_ticketing(settings, registry) as t,
        open_alarms(settings, registry, book, ticketing=t) as alarms,
    ):
        tokens = await asyncio.to_thread(demo_tokens, TokenStore(t.engine), the_site)
        front = build_front(settings, registry, alarms.sinks)
        app = create_app(
            settings,
            registry=registry,
            ticketing=t,
            ingest_health=lambda: front.health().as_dict(),
            logins=device_logins(settings),
        )
        server = _EmbeddedServer(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="warning",
                log_config=None,  # our handlers and format (adapters/logs.py)
                access_log=False,  # a line per request is chatter, not an event
                lifespan="on",
            )
        )
        stop = asyncio.Event()

        def shutdown() -> None:
            log.info("stopping: simulator, gateway (flushing), API")
            stop.set()
            front.stop()
            server.should_exit = True

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, shutdown)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(run_front(front, settings), name="gateway")
            tg.create_task(server.serve(), name="api")
            while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, no event
                await asyncio.sleep(0.05)
            heap.settle()  # as `gridwatch gateway` does: the start-up heap out of the GC's walks
            _banner(f"http://{host}:{port}/", tokens, ends, var, scenario, no_sim)
            if not no_sim and ends.sim_url:
                tg.create_task(
                    simulate(
                        the_site,
                        ends.sim_url,
                        settings.topic_prefix,
                        scenario,
                        backfill_s,
                        speed,
                        stop,
                    ),
                    name="simulator",
                )


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def _banner(
    url: str,
    tokens: list[tuple[str, str, str]],
    ends: Endpoints,
    var: Path,
    scenario: Path | None,
    no_sim: bool,
) -> None:
    lines = [
        "",
        "GridWatch is up.",
        f"  dashboard   {url}",
        f"  API         {url}api/v1/  (OpenAPI: {url}openapi.json)",
        f"  InfluxDB    {ends.influx_url}",
        f"  MQTT        {ends.mqtt_url.split('@')[-1]}",
        f"  data, logs  {var.resolve()}",
    ]
    if not no_sim:
        lines.append(
            f"  simulator   the demo community{f', scenario {scenario.stem}' if scenario else ''}"
        )
    lines += ["", "Demo tokens (paste one into the dashboard; Ctrl-C stops everything):"]
    lines += [f"  {token}  {role}" for _name, role, token in tokens]
    typer.echo("\n".join(lines) + "\n")
