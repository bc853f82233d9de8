"""`gridwatch simulate`: simulated sensors publishing over MQTT exactly as devices do
(contract §2, §6).

Three ways to run it:
- the demo or any site: every sensor reports on its own interval, at real time or `--speed N`
  times faster (readings then carry simulated time, by default ending at the present);
- a scenario (`--scenario FILE`): the same, plus the scenario's events and sensor faults;
- load mode (`--sensors N --rate R`): N synthetic sensors sending R readings a second in total,
  for benchmarks (`--write-site FILE` saves their registry for the gateway).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from domain import topics
from domain.duration import parse_duration
from domain.site import Site, SiteError, load_site, parse_site
from gridwatch import flags
from simulators import demo
from simulators.clock import SimClock, default_start
from simulators.payload import Encoding
from simulators.publisher import BrokerAddress, Progress, PublishError, publish
from simulators.replay import ReplayError
from simulators.scenario import Scenario, ScenarioError, load_scenario
from simulators.simulation import Simulation
from simulators.sitegen import synthetic_site, write_site

_DAY = 86_400.0


def _fail(msg: str) -> typer.Exit:
    typer.echo(f"error: {msg}", err=True)
    return typer.Exit(2)


def _instant(text: str) -> float:
    if text == "now":
        return time.time()
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


async def _show(progress: Progress, done: asyncio.Event, every: float) -> None:
    while not done.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(every):
                await done.wait()
        sim = (
            datetime.fromtimestamp(progress.sim_time, UTC).astimezone()
            if progress.sim_time
            else None
        )
        typer.echo(
            f"sim {sim:%Y-%m-%d %H:%M:%S} · " if sim else "waiting · ",
            err=True,
            nl=False,
        )
        typer.echo(
            f"{progress.readings:,} readings in {progress.messages:,} messages · "
            f"{progress.rate():,.0f} readings/s",
            err=True,
        )


async def _run(
    sim: Simulation,
    clock: SimClock,
    until: float,
    broker: BrokerAddress,
    qos: int,
    rate: float | None,
    every: float,
) -> Progress:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    progress = Progress()
    done = asyncio.Event()
    shower = asyncio.create_task(_show(progress, done, every), name="progress")
    try:
        return await publish(
            sim.emissions(until),
            broker,
            clock=clock,
            stop=stop,
            progress=progress,
            qos=qos,
            max_rate=rate,
        )
    finally:
        done.set()
        await shower
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def command(
    site: Annotated[
        Path | None,
        typer.Option("--site", help="Site YAML (env GRIDWATCH_SITE; default: the demo site)."),
    ] = None,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="Scenario YAML: events, faults, expectations.")
    ] = None,
    speed: Annotated[
        float | None, typer.Option("--speed", help="Simulated seconds per real second.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="Simulated start: RFC 3339, 'now', or 'scenario' (the file's own start). "
            "Default: so that the run ends at the present.",
        ),
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            "--duration",
            help="Simulated time to cover, e.g. 36h (default: the scenario's; 1d when "
            "--speed > 1; else until stopped).",
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option("--rate", help="Readings per second: the target in load mode, else a cap."),
    ] = None,
    sensors: Annotated[
        int | None, typer.Option("--sensors", help="Load mode: this many synthetic sensors.")
    ] = None,
    write_site: Annotated[
        Path | None,
        typer.Option("--write-site", help="Load mode: save the synthetic registry here and exit."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (default 0).")] = None,
    mqtt_url: flags.MqttUrl = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Topic prefix.")] = topics.DEFAULT_PREFIX,
    qos: Annotated[int, typer.Option("--qos", min=0, max=2, help="MQTT QoS.")] = 1,
    progress_every: Annotated[
        float, typer.Option("--progress-every", help="Seconds between progress lines.")
    ] = 5.0,
) -> None:
    """Publish simulated sensor readings over MQTT, as real devices do."""
    settings = flags.settings(mqtt_url=mqtt_url).settings
    try:
        plan = _plan(
            site,
            settings.site or demo.SITE,
            scenario,
            speed,
            start,
            duration,
            rate,
            sensors,
            write_site,
            seed,
            prefix,
        )
    except (SiteError, ScenarioError, ReplayError, ValueError) as e:
        raise _fail(str(e)) from None
    if plan is None:
        return
    sim, clock, until, run_rate = plan
    try:
        broker = BrokerAddress.parse(settings.mqtt.url_or_default)
        span = "until stopped" if until == float("inf") else f"{(until - sim.start) / 3600:.1f} h"
        typer.echo(
            f"simulating {len(sim.sources)} sensors from "
            f"{datetime.fromtimestamp(sim.start, UTC).astimezone():%Y-%m-%d %H:%M:%S %z}, {span} "
            f"of simulated time at {clock.speed}x → {broker.host}:{broker.port} ({prefix})",
            err=True,
        )
        done = asyncio.run(_run(sim, clock, until, broker, qos, run_rate, progress_every))
    except PublishError as e:
        raise _fail(str(e)) from None
    typer.echo(f"done: {done.readings:,} readings in {done.messages:,} messages", err=True)


def _plan(
    site_file: Path | None,
    default_site: Path,
    scenario_file: Path | None,
    speed: float | None,
    start: str | None,
    duration: str | None,
    rate: float | None,
    sensors: int | None,
    write_to: Path | None,
    seed: int | None,
    prefix: str,
) -> tuple[Simulation, SimClock, float, float | None] | None:
    """Everything the run needs, checked before anything is published."""
    sc: Scenario | None = None
    site: Site
    encoding: Encoding | None = None
    run_rate = rate
    if sensors is not None:
        if sensors < 1:
            raise ValueError("--sensors must be at least 1")
        interval = max(1, round(sensors / rate)) if rate else 60
        site = parse_site(synthetic_site(sensors, interval, seed or 0), "<synthetic>")
        encoding = Encoding.READING
        run_rate = None  # the intervals already give the rate
        if write_to is not None:
            write_site(site.model_dump(mode="json"), write_to, f"{sensors} synthetic sensors")
            typer.echo(f"wrote {write_to} ({sensors} sensors, interval {interval} s)", err=True)
            return None
    else:
        given = load_site(site_file) if site_file else None
        if scenario_file is not None:
            sc, site = load_scenario(scenario_file, given)
        else:
            site = given or load_site(default_site)
    speed = speed or (sc.speed if sc else 1.0)
    if speed <= 0:
        raise ValueError("--speed must be positive")
    now = time.time()
    if duration is not None:
        span = parse_duration(duration)
    elif sc is not None:
        span = sc.duration
    else:
        span = _DAY if speed > 1 else float("inf")
    if start == "scenario":
        if sc is None:
            raise ValueError("--start scenario needs --scenario")
        origin = sc.start.timestamp()
    elif start is not None:
        origin = _instant(start)
    elif speed > 1 and span != float("inf"):
        origin = default_start(now, span / speed, speed)
    else:
        origin = now
    sim = Simulation(
        site,
        start=origin,
        seed=seed if seed is not None else (sc.seed if sc else 0),
        scenario=sc,
        prefix=prefix,
        encoding=encoding,
        base_dir=scenario_file.parent if scenario_file else None,
    )
    return sim, SimClock(origin, speed), origin + span, run_rate
