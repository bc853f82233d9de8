"""The metric catalog and unit conversion: the numbers domain.md §1 gives, in one place."""

from __future__ import annotations

import math

import pytest

from domain.catalog import CATALOG, HEALTH, Kind, metric
from domain.units import UnitError, convert


def test_every_kind_has_the_metrics_of_domain_md() -> None:
    assert set(CATALOG[Kind.POND]) == {
        "do",
        "ph",
        "orp",
        "nh3n",
        "temp",
        "turbidity",
        "conductivity",
        "transparency",
        "chla",
    }
    assert set(CATALOG[Kind.WATER]) == {
        "pressure",
        "flow",
        "chlorine",
        "turbidity",
        "ph",
        "temp",
        "tank_level",
    }
    assert set(CATALOG[Kind.POWER]) == {
        "voltage",
        "current",
        "frequency",
        "power_factor",
        "load_rate",
        "oil_temp",
        "energy",
    }
    assert set(CATALOG[Kind.SEWER]) == {
        "fill",
        "freeboard",
        "flow",
        "h2s",
        "ch4",
        "o2",
        "cover_tilt",
        "rain",
    }
    assert set(HEALTH) == {"battery_v", "rssi_dbm"}


@pytest.mark.parametrize(
    ("kind", "name", "inside", "outside"),
    [
        (Kind.POND, "do", 0.0, 25.1),
        (Kind.POND, "orp", -600.0, 800.5),
        (Kind.WATER, "pressure", -0.1, 1.7),
        (Kind.POWER, "voltage", 0.0, 300.1),  # 0 V is an outage, not a fault
        (Kind.POWER, "frequency", 45.0, 44.9),
        (Kind.SEWER, "freeboard", -0.5, -0.6),
    ],
)
def test_plausible_ranges(kind: Kind, name: str, inside: float, outside: float) -> None:
    m = metric(kind, name)
    assert m is not None
    assert m.plausible(inside)
    assert not m.plausible(outside)


def test_a_metric_of_another_kind_is_unknown() -> None:
    assert metric(Kind.POWER, "do") is None


def test_units_people_read() -> None:
    temp = metric(Kind.POND, "temp")
    fill = metric(Kind.SEWER, "fill")
    assert temp is not None
    assert temp.shown_unit == "°C"
    assert fill is not None
    assert fill.shown_unit == ""


@pytest.mark.parametrize(
    ("value", "unit", "to", "expected"),
    [
        (293.15, "K", "Cel", 20.0),
        (0.35, "V", "mV", 350.0),
        (250.0, "kPa", "MPa", 0.25),
        (24.26, "l/s", "m3/h", 87.336),
        (2.5, "bar", "MPa", 0.25),
        (1500.0, "Wh", "kWh", 1.5),
        (0.8, "/", "%", 80.0),
        (7.2, "Cel", "Cel", 7.2),
        (7.2, "°C", "Cel", 7.2),
    ],
)
def test_convertible_units(value: float, unit: str, to: str, expected: float) -> None:
    assert math.isclose(convert(value, unit, to), expected, rel_tol=1e-9)


def test_a_unit_that_is_not_convertible_is_refused() -> None:
    with pytest.raises(UnitError):
        convert(1.0, "mg/L", "MPa")
