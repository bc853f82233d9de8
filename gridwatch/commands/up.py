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
import os
import signal
import socket
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from domain.duration import parse_duration
from domain.site import Registry, Site, SiteError, load_site
from gateway.service import Gateway
from gateway.settings import GatewaySettings
from gridwatch.brokerconf import BrokerOptions, write_broker_config
from gridwatch.hub import serve_gateway
from gridwatch.processes import InfluxDB, Mosquitto, ServiceError, free_port, stop_all
from services.alarms import Alarms
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.auth.tokens import TokenStore
from services.rules.book import RuleBook, RuleError, load_rules
from services.ticketing import TicketingSettings, open_ticketing
from simulators import demo
from simulators.clock import CatchUpClock
from simulators.publisher import BrokerAddress, PublishError, publish
from simulators.scenario import ScenarioError, load_scenario
from simulators.simulation import Simulation

log = logging.getLogger("gridwatch.up")

SIM_USER = "gridwatch-sim"
DEMO_PREFIX = "demo-"


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our event loop: `up` owns the signals and stops the parts in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass
class Endpoints:
    """What `up` runs against, and the processes it started to get there."""

    mqtt_url: str
    notify_url: str
    sim_url: str | None
    influx_url: str
    started: list[Mosquitto | InfluxDB] = field(default_factory=list)


def _start_services(site: Site, var: Path, sim: bool) -> Endpoints:
    mqtt = os.environ.get("GRIDWATCH_MQTT_URL")
    influx = os.environ.get("GRIDWATCH_INFLUX_URL")
    started: list[Mosquitto | InfluxDB] = []
    try:
        if mqtt is None:
            port = free_port()
            files = write_broker_config(
                site, var / "broker", BrokerOptions.local(port, SIM_USER if sim else None)
            )
            broker = Mosquitto(workdir=var / "broker", config_file=files.paths.config, port=port)
            started.append(broker.start())
            mqtt, notify = files.gateway_url, files.notifier_url
            sim_url = files.simulator_url(SIM_USER) if sim else None
        else:
            notify, sim_url = os.environ.get("GRIDWATCH_NOTIFY_MQTT_URL", mqtt), mqtt
        if influx is None:
            started.append(InfluxDB(workdir=var / "influxdb").start())
            influx = started[-1].url
    except ServiceError:
        stop_all(*started)
        raise
    return Endpoints(mqtt, notify, sim_url, influx, started)


def _demo_tokens(store: TokenStore, site: Site) -> list[tuple[str, str, str]]:
    """(name, role and scope, token): revoke the last start's demo tokens, make new ones."""
    for info in store.list():
        if info.name.startswith(DEMO_PREFIX):
            store.revoke(info.name)
    out = [
        (f"{DEMO_PREFIX}admin", "admin", store.create(f"{DEMO_PREFIX}admin", "admin")),
        (f"{DEMO_PREFIX}officer", "officer", store.create(f"{DEMO_PREFIX}officer", "officer")),
    ]
    for c in site.communities:
        for g in c.grids:
            name = f"{DEMO_PREFIX}crew-{g.id}"
            role = f"crew {g.id} ({c.name} {g.name})"
            out.append((name, role, store.create(name, "crew", (g.id,))))
    return out


async def _simulate(
    site: Site,
    url: str,
    prefix: str,
    scenario: Path | None,
    backfill_s: float,
    speed: float,
    stop: asyncio.Event,
) -> None:
    start = time.time() - backfill_s
    sim = Simulation(
        site,
        start=start,
        seed=1,
        prefix=prefix,
        scenario=load_scenario(scenario, site)[0] if scenario else None,
        base_dir=scenario.parent if scenario else None,
    )
    clock = CatchUpClock(sim_start=start, speed=max(1.0, speed))
    try:
        await publish(
            sim.emissions(float("inf")),
            BrokerAddress.parse(url),
            clock=clock,
            stop=stop,
            client_id=SIM_USER,
        )
    except PublishError as e:
        log.error("the simulated community stopped: %s", e)


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
    http: Annotated[
        str | None, typer.Option("--http", help="Dashboard address (env GRIDWATCH_HTTP).")
    ] = None,
) -> None:
    """Run the whole hub: broker and InfluxDB (local ones unless configured), gateway, rules,
    tickets, API, web dashboard and a simulated demo community."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    site_path = site or Path(os.environ.get("GRIDWATCH_SITE") or demo.SITE)
    scenario_path: Path | None = None
    if not no_sim:
        if scenario is None and site_path == demo.SITE:
            scenario = "storm-night"
        if scenario is not None:
            named = demo.scenario_path(scenario)
            scenario_path = named if named.is_file() else Path(scenario)
    try:
        the_site = load_site(site_path)
        registry = Registry(the_site)
        rules_env = os.environ.get("GRIDWATCH_RULES")
        book = load_rules(Path(rules_env) if rules_env else None, registry=registry)
        if scenario_path is not None:
            load_scenario(scenario_path, the_site)
        backfill_s = parse_duration(backfill)
    except (SiteError, RuleError, ScenarioError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    var.mkdir(parents=True, exist_ok=True)
    try:
        ends = _start_services(the_site, var.resolve(), sim=not no_sim)
    except ServiceError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    try:
        asyncio.run(
            _run(
                the_site, registry, book, ends, var, http, scenario_path, backfill_s, speed, no_sim
            )
        )
    finally:
        stop_all(*reversed(ends.started))


async def _run(
    the_site: Site,
    registry: Registry,
    book: RuleBook,
    ends: Endpoints,
    var: Path,
    http: str | None,
    scenario: Path | None,
    backfill_s: float,
    speed: float,
    no_sim: bool,
) -> None:
    gw_settings = GatewaySettings(
        site=None,
        mqtt_url=ends.mqtt_url,
        influx_url=ends.influx_url,
        mqtt_client_id="gridwatch-gateway",
        spool_dir=var / "spool",
    )
    db_url = os.environ.get("GRIDWATCH_DB_URL") or f"sqlite:///{(var / 'gridwatch.db').resolve()}"
    api_settings = ApiSettings(
        db_url=db_url,
        mqtt_url=ends.notify_url,
        notify_client_id="gridwatch-notify",
        influx_url=ends.influx_url,
        influx_db=gw_settings.influx_db,
    )
    if http:
        api_settings = api_settings.model_copy(update={"http": http})
    host, port = api_settings.host_port
    if port != 0 and not _port_free(host, port):
        port = free_port(host)
    ticketing_settings = TicketingSettings.model_validate(api_settings.model_dump())
    async with open_ticketing(ticketing_settings, registry) as t:
        tokens = await asyncio.to_thread(_demo_tokens, TokenStore(t.engine), the_site)
        gateways: list[Gateway] = []
        app = create_app(
            api_settings,
            registry=registry,
            ticketing=t,
            ingest_health=lambda: gateways[0].health().as_dict() if gateways else None,
        )
        server = _EmbeddedServer(
            uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        )
        stop = asyncio.Event()

        def ready(gateway: Gateway, _alarms: Alarms) -> None:
            gateways.append(gateway)

        def shutdown() -> None:
            log.info("stopping: simulator, gateway (flushing), API")
            stop.set()
            for g in gateways:
                g.stop()
            server.should_exit = True

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, shutdown)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(
                serve_gateway(gw_settings, t, registry, book, on_ready=ready),
                name="gateway",
            )
            tg.create_task(server.serve(), name="api")
            while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, no event
                await asyncio.sleep(0.05)
            _banner(f"http://{host}:{port}/", tokens, ends, var, scenario, no_sim)
            if not no_sim and ends.sim_url:
                tg.create_task(
                    _simulate(
                        the_site,
                        ends.sim_url,
                        gw_settings.topic_prefix,
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
