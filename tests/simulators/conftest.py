"""Shared pieces for the simulator tests: the demo site, and running a scenario into the
readings it puts on the wire."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.site import Site, load_site
from simulators import demo
from simulators.device import Emission
from simulators.scenario import Scenario, load_scenario
from simulators.simulation import Simulation

START = datetime.fromisoformat("2025-07-14T00:00:00+08:00").timestamp()


@pytest.fixture(scope="session")
def demo_site() -> Site:
    """The shipped demo site, loaded once."""
    return load_site(demo.SITE)


def involved(sc: Scenario) -> set[str]:
    """The sensors a scenario names: in its expectations, events and faults."""
    names = {x.sensor for x in sc.expect} | {f.sensor for f in sc.faults}
    return names | {s for e in sc.events for s in e.sensors}


def run(sc: Scenario, site: Site, only: set[str] | None = None) -> list[Emission]:
    start = sc.start.timestamp()
    sim = Simulation(site, start=start, seed=sc.seed, scenario=sc, sensors=only)
    return list(sim.emissions(start + sc.duration))


def load(name: str) -> tuple[Scenario, Site]:
    return load_scenario(demo.scenario_path(name))
