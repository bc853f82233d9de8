"""The demo side of `gridwatch up`: the simulated community it plays into the broker, and the
demo tokens it hands out to look at the result (new ones each start)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from domain.site import Site
from gridwatch.localhub import SIM_USER
from services.auth.tokens import TokenStore
from simulators.clock import CatchUpClock
from simulators.publisher import BrokerAddress, PublishError, publish
from simulators.scenario import load_scenario
from simulators.simulation import Simulation

log = logging.getLogger("gridwatch.up")

DEMO_PREFIX = "demo-"


def demo_tokens(store: TokenStore, site: Site) -> list[tuple[str, str, str]]:
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


async def simulate(
    site: Site,
    url: str,
    prefix: str,
    scenario: Path | None,
    backfill_s: float,
    speed: float,
    stop: asyncio.Event,
) -> None:
    """Play the last `backfill_s` of history fast, then go on in real time until `stop`."""
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
