"""The metric catalog of domain.md §1: the one source of truth for kinds, metrics, units and
plausible ranges, shared by the gateway (validation), the simulators (generation) and the rules.

Field names here are the InfluxDB field names. Units are SenML symbols (RFC 8428 and its
registry) where one exists, so SenML payloads can be compared without a lookup table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """The four kinds of infrastructure; also the InfluxDB measurement name."""

    WATER = "water"
    POWER = "power"
    SEWER = "sewer"
    POND = "pond"


@dataclass(frozen=True, slots=True)
class Metric:
    """One physical quantity a sensor of some kind reports.

    `resolution` is the smallest change the sensor can report; the stuck-value rule treats
    changes below it as "no change".
    """

    name: str
    unit: str
    lo: float
    hi: float
    label_zh: str
    label_en: str
    resolution: float = 0.01
    display_unit: str = ""

    def plausible(self, value: float) -> bool:
        return self.lo <= value <= self.hi

    @property
    def shown_unit(self) -> str:
        """The unit as people write it (°C rather than SenML's Cel; nothing for a ratio)."""
        if self.display_unit or self.unit == "/":
            return self.display_unit
        return self.unit


def _m(
    name: str,
    unit: str,
    lo: float,
    hi: float,
    zh: str,
    en: str,
    resolution: float = 0.01,
    display_unit: str = "",
) -> Metric:
    return Metric(name, unit, lo, hi, zh, en, resolution, display_unit)


# Upper bounds that domain.md leaves to the installation ("meter max", "pipe capacity") are set
# generously here; a site with bigger pipes can still be served by raising them in one place.
_FLOW_MAX_M3H = 50_000.0

CATALOG: dict[Kind, dict[str, Metric]] = {
    Kind.POND: {
        m.name: m
        for m in (
            _m("do", "mg/L", 0, 25, "溶解氧", "dissolved oxygen"),
            _m("ph", "pH", 2, 12, "pH", "pH"),
            _m("orp", "mV", -600, 800, "氧化还原电位", "ORP", 1.0),
            _m("nh3n", "mg/L", 0, 100, "氨氮", "ammonia nitrogen"),
            _m("temp", "Cel", -2, 45, "水温", "water temperature", 0.1, "°C"),
            _m("turbidity", "NTU", 0, 4000, "浊度", "turbidity", 0.1),
            _m("conductivity", "uS/cm", 5, 20000, "电导率", "conductivity", 1.0, "µS/cm"),
            _m("transparency", "cm", 0, 500, "透明度", "transparency", 1.0),
            _m("chla", "ug/L", 0, 500, "叶绿素a", "chlorophyll-a", 0.1, "µg/L"),
        )
    },
    Kind.WATER: {
        m.name: m
        for m in (
            _m("pressure", "MPa", -0.1, 1.6, "水压", "pressure", 0.001),
            _m("flow", "m3/h", 0, _FLOW_MAX_M3H, "流量", "flow", 0.01, "m³/h"),
            _m("chlorine", "mg/L", 0, 5, "余氯", "free chlorine"),
            _m("turbidity", "NTU", 0, 100, "浊度", "turbidity"),
            _m("ph", "pH", 2, 12, "pH", "pH"),
            _m("temp", "Cel", 0, 45, "水温", "water temperature", 0.1, "°C"),
            _m("tank_level", "%", 0, 105, "水箱液位", "tank level", 0.1),
        )
    },
    Kind.POWER: {
        m.name: m
        for m in (
            _m("voltage", "V", 0, 300, "相电压", "phase voltage", 0.1),
            _m("current", "A", 0, 5000, "电流", "current", 0.1),
            _m("frequency", "Hz", 45, 55, "频率", "frequency"),
            _m("power_factor", "/", 0, 1, "功率因数", "power factor", 0.001, ""),
            _m("load_rate", "%", 0, 250, "负载率", "load rate", 0.1),
            _m("oil_temp", "Cel", -40, 140, "顶层油温", "top-oil temperature", 0.1, "°C"),
            _m("energy", "kWh", 0, 1e12, "累计电量", "energy", 0.1),
        )
    },
    Kind.SEWER: {
        m.name: m
        for m in (
            _m("fill", "/", 0, 10, "充满度", "fill ratio", 0.01, ""),
            _m("freeboard", "m", -0.5, 10, "井内水面距井盖", "freeboard", 0.01),
            _m("flow", "m3/h", 0, _FLOW_MAX_M3H, "流量", "flow", 0.01, "m³/h"),
            _m("h2s", "ppm", 0, 1000, "硫化氢", "hydrogen sulfide", 0.1),
            _m("ch4", "%LEL", 0, 100, "可燃气体", "combustible gas", 0.1),
            _m("o2", "%vol", 0, 25, "氧气", "oxygen", 0.1),
            _m("cover_tilt", "deg", 0, 180, "井盖倾角", "manhole cover tilt", 0.1, "°"),
            _m("rain", "mm/h", 0, 150, "降雨强度", "rainfall intensity", 0.1),
        )
    },
}

# Device health fields, reported by every kind and stored next to the metrics.
HEALTH: dict[str, Metric] = {
    m.name: m
    for m in (
        _m("battery_v", "V", 0, 5, "电池电压", "battery voltage"),
        _m("rssi_dbm", "dBm", -140, 0, "信号强度", "signal strength", 1.0),
    )
}

# `seq` is a device counter, not a physical quantity: an unsigned integer, stored as such.
SEQ_FIELD = "seq"
SEQ_MAX = 2**63 - 1


def metric(kind: Kind, name: str) -> Metric | None:
    """The catalog entry for `name` on a sensor of `kind`, or None when the kind has no such
    metric."""
    return CATALOG[kind].get(name)
