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


def run(sc: Scenario, site: Site) -> list[Emission]:
    start = sc.start.timestamp()
    sim = Simulation(site, start=start, seed=sc.seed, scenario=sc)
    return list(sim.emissions(start + sc.duration))


@pytest.fixture(scope="session")
def scenario_runs() -> dict[str, tuple[Scenario, Site, list[Emission]]]:
    """Every shipped scenario, simulated once for the session."""
    out = {}
    for name in demo.scenario_names():
        sc, site = load_scenario(demo.scenario_path(name))
        out[name] = (sc, site, run(sc, site))
    return out
