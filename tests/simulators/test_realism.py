"""Simulated days look like the real ones of domain.md §3."""

from __future__ import annotations

import statistics
from collections import defaultdict

import pytest

from domain.catalog import Kind
from domain.site import Site
from simulators.diurnal import LocalTime
from simulators.simulation import Simulation
from tests.simulators.conftest import START

DAYS = 3


def hourly(site: Site, sensor: str, metric: str, days: int = DAYS) -> list[float]:
    """Mean of `metric` per local hour of day over `days` simulated days."""
    sim = Simulation(site, start=START, seed=1)
    local = LocalTime(site.tz)
    bins: dict[int, list[float]] = defaultdict(list)
    for t, values in sim.samples(sensor, START + days * 86_400, step=300):
        bins[int(local.hour(t))].append(values[metric])
    return [statistics.fmean(bins[h]) for h in range(24)]


def of_kind(site: Site, kind: Kind, part: str = "") -> list[str]:
    return [s.id for s in site.sensors if s.kind is kind and part in s.id]


def test_pond_oxygen_lowest_before_dawn_highest_mid_afternoon(demo_site: Site) -> None:
    for pond in of_kind(demo_site, Kind.POND):
        do = hourly(demo_site, pond, "do")
        assert 3 <= do.index(min(do)) < 7, (pond, do)
        assert 13 <= do.index(max(do)) < 18, (pond, do)
        assert 1.0 <= max(do) - min(do) <= 10.0


def test_pond_ph_moves_with_oxygen_and_temperature_peaks_in_the_afternoon(demo_site: Site) -> None:
    pond = of_kind(demo_site, Kind.POND)[0]
    ph, do, temp = (hourly(demo_site, pond, m) for m in ("ph", "do", "temp"))
    assert statistics.correlation(ph, do) > 0.9
    assert 0.3 <= max(ph) - min(ph) <= 1.0
    assert 13 <= temp.index(max(temp)) < 18
    assert 1.0 <= max(temp) - min(temp) <= 4.0


def test_water_demand_peaks_morning_and_evening_with_pressure_against_it(demo_site: Site) -> None:
    point = of_kind(demo_site, Kind.WATER, "-net-")[0]
    flow, pressure = hourly(demo_site, point, "flow"), hourly(demo_site, point, "pressure")
    night = statistics.fmean(flow[1:4])
    assert statistics.fmean(flow[6:9]) > 1.8 * night  # morning peak
    assert 16 <= flow.index(max(flow)) <= 18  # evening peak is the day's highest
    assert 0 <= flow.index(min(flow)) <= 3
    assert statistics.correlation(flow, pressure) < -0.9
    assert all(0.20 <= p <= 0.35 for p in pressure)


def test_sewer_level_lowest_between_three_and_five(demo_site: Site) -> None:
    for mh in of_kind(demo_site, Kind.SEWER)[:6]:
        fill = hourly(demo_site, mh, "fill")
        assert 3 <= fill.index(min(fill)) <= 5, (mh, fill)
        assert max(fill) < 0.75  # dry-weather design fullness


def test_voltage_near_220_with_an_evening_sag(demo_site: Site) -> None:
    for tx in of_kind(demo_site, Kind.POWER):
        v = hourly(demo_site, tx, "voltage")
        assert all(209 < x < 231 for x in v), (tx, v)
        assert statistics.fmean(v[18:22]) < statistics.fmean(v[2:6]) - 2.0


def test_roof_tank_chlorine_decays_more_in_summer(demo_site: Site) -> None:
    tank = of_kind(demo_site, Kind.WATER, "-tank-")[0]
    winter_start = START - 180 * 86_400  # mid-January
    july = [
        v["chlorine"] for _, v in Simulation(demo_site, start=START).samples(tank, START + 86_400)
    ]
    january = [
        v["chlorine"]
        for _, v in Simulation(demo_site, start=winter_start).samples(tank, winter_start + 86_400)
    ]
    assert statistics.fmean(july) < statistics.fmean(january) - 0.03
    assert all(0.1 <= c <= 0.5 for c in july + january)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_value_is_in_the_catalog_range(demo_site: Site, kind: Kind) -> None:
    from domain.catalog import CATALOG

    sim = Simulation(demo_site, start=START, seed=3)
    for sensor in of_kind(demo_site, kind)[:4]:
        for _, values in sim.samples(sensor, START + 86_400):
            assert values
            for name, v in values.items():
                assert CATALOG[kind][name].plausible(v), (sensor, name, v)


@pytest.mark.slow
def test_a_simulated_week_of_the_demo_site(demo_site: Site) -> None:
    sim = Simulation(demo_site, start=START, seed=1)
    readings = sum(e.readings for e in sim.emissions(START + 7 * 86_400))
    # pond 10 min, water/power/pump wells 5 min, manholes 15 min
    assert 130_000 < readings < 160_000


def test_a_simulated_day_of_the_demo_site_reports_on_every_sensor(demo_site: Site) -> None:
    sim = Simulation(demo_site, start=START, seed=1)
    per_sensor: dict[str, int] = defaultdict(int)
    for e in sim.emissions(START + 86_400):
        per_sensor[e.sensor] += e.readings
    for s in demo_site.sensors:
        assert per_sensor[s.id] >= 86_400 // s.interval_s - 1, s.id
