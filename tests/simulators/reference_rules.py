"""The default thresholds of domain.md §2, evaluated naively over what the simulators send,
so the tests can check that each scenario's expected tickets follow from its data (and that
nothing else fires). This is not the rule engine (services/rules/) — it is the yardstick the
scenario files were written against; the engine's own tests hold it to the same files.

Conventions: a condition must hold on consecutive readings for the rule's `for` duration
(event time); the ticket opens when it first has; its severity is the highest reached.
Voltage under 132 V counts as an outage, not as a voltage deviation. Rain gauges are exempt
from the stuck test (dry weather reads 0 for days). The black-odorous grade opens a ticket only
on readings its indicators' own rules do not cover (precedence, `inhibits:`).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.catalog import CATALOG, Kind
from tests.simulators.wire import Seen

Check = Callable[[float], bool]
H, M = 3600.0, 60.0


def below(x: float) -> Check:
    return lambda v: v < x


def above(x: float) -> Check:
    return lambda v: v > x


def at_least(x: float) -> Check:
    return lambda v: v >= x


def outside(lo: float, hi: float) -> Check:
    return lambda v: v < lo or v > hi


@dataclass(frozen=True)
class Threshold:
    rule: str
    metric: str
    warning: Check | None
    critical: Check
    hold_s: float


THRESHOLDS: dict[Kind, list[Threshold]] = {
    Kind.POND: [
        Threshold("pond.low_oxygen", "do", below(3.0), below(2.0), H),
        Threshold("pond.ammonia", "nh3n", above(2.0), above(8.0), H),
        Threshold("pond.reducing", "orp", below(50), below(-200), H),
        Threshold("pond.ph", "ph", outside(6, 9), outside(5.5, 9.5), 2 * H),
        Threshold("pond.murky", "transparency", below(25), below(10), 0),
    ],
    Kind.WATER: [
        Threshold("water.chlorine_low", "chlorine", below(0.1), below(0.05), 15 * M),
        Threshold("water.chlorine_high", "chlorine", above(1.0), above(2.0), 15 * M),
        Threshold("water.turbidity", "turbidity", above(0.5), above(1.0), 15 * M),
        Threshold("water.ph", "ph", outside(6.8, 8.3), outside(6.5, 8.5), 15 * M),
        Threshold("water.pressure_low", "pressure", below(0.16), below(0.14), 10 * M),
        Threshold("water.pressure_high", "pressure", above(0.45), above(0.60), 10 * M),
        Threshold("water.tank_low", "tank_level", below(30), below(15), 10 * M),
    ],
    Kind.POWER: [
        Threshold("power.voltage", "voltage", outside(209, 231), outside(198, 235.4), 10 * M),
        Threshold("power.outage", "voltage", None, below(132), 0),
        Threshold("power.overvoltage", "voltage", above(242), above(264), 0),
        Threshold("power.frequency", "frequency", outside(49.8, 50.2), outside(49.5, 50.5), M),
        Threshold("power.load", "load_rate", above(80), above(100), 2 * H),
        Threshold("power.oil_temp", "oil_temp", above(85), above(95), 10 * M),
        Threshold("power.power_factor", "power_factor", below(0.90), below(0.85), H),
    ],
    Kind.SEWER: [
        Threshold("sewer.surcharge", "fill", above(0.9), at_least(1.0), 10 * M),
        Threshold("sewer.overflow", "freeboard", below(0.5), below(0.2), 0),
        Threshold("sewer.h2s", "h2s", at_least(10), at_least(20), 0),
        Threshold("sewer.ch4", "ch4", at_least(10), at_least(25), 0),
        Threshold("sewer.o2", "o2", below(19.5), below(18), 0),
        Threshold("sewer.cover", "cover_tilt", above(5), above(15), 0),
    ],
}


@dataclass
class Fired:
    sensor: str
    rule: str
    severity: str
    opened: float  # event time, epoch s


def _held(series: list[tuple[float, float]], check: Check, hold: float) -> float | None:
    """First instant at which `check` has held on consecutive readings for `hold` seconds."""
    since: float | None = None
    for ts, v in series:
        if check(v):
            since = ts if since is None else since
            if ts - since >= hold:
                return ts
        else:
            since = None
    return None


def evaluate(
    readings: Iterable[Seen], kinds: dict[str, Kind], tz: ZoneInfo
) -> dict[tuple[str, str], Fired]:
    by_sensor: dict[str, dict[float, Seen]] = defaultdict(dict)
    for r in readings:
        by_sensor[r.sensor][r.ts] = r  # duplicates collapse, as the same InfluxDB point would
    fired: dict[tuple[str, str], Fired] = {}
    for sensor, points in by_sensor.items():
        ordered = [points[t] for t in sorted(points)]
        kind = kinds[sensor]
        for th in THRESHOLDS[kind]:
            series = [(r.ts, r.values[th.metric]) for r in ordered if th.metric in r.values]
            if th.rule == "power.voltage":
                series = [(t, v) for t, v in series if v >= 132]
            first = _held(series, th.warning or th.critical, th.hold_s)
            if first is None:
                continue
            crit = _held(series, th.critical, th.hold_s)
            fired[sensor, th.rule] = Fired(
                sensor, th.rule, "critical" if crit else "warning", first
            )
        if kind is Kind.POND:
            _black_odorous(sensor, ordered, fired)
        if kind is Kind.WATER:
            _burst(sensor, ordered, fired)
        _battery(sensor, ordered, fired)
        _stuck(sensor, kind, ordered, fired)
        if kind is Kind.WATER:
            _night_leak(sensor, ordered, tz, fired)
    return fired


def _battery(sensor: str, ordered: list[Seen], fired: dict[tuple[str, str], Fired]) -> None:
    series = [(r.ts, r.battery_v) for r in ordered if r.battery_v is not None]
    first = _held(series, below(3.4), 0)
    if first is not None:
        crit = _held(series, below(3.2), 0)
        fired[sensor, "sensor.battery"] = Fired(
            sensor, "sensor.battery", "critical" if crit else "warning", first
        )


def _stuck(
    sensor: str, kind: Kind, ordered: list[Seen], fired: dict[tuple[str, str], Fired]
) -> None:
    for name, m in CATALOG[kind].items():
        if name == "rain":
            continue
        run_start: float | None = None
        last: float | None = None
        count = 0
        for r in ordered:
            v = r.values.get(name)
            if v is None:
                continue
            if last is not None and abs(v - last) < m.resolution / 2:
                count += 1
                assert run_start is not None
                if r.ts - run_start >= 6 * H or (name in ("ph", "do") and count >= 45):
                    fired.setdefault(
                        (sensor, "sensor.stuck"), Fired(sensor, "sensor.stuck", "warning", r.ts)
                    )
                    break
            else:
                run_start, count = r.ts, 1
            last = v


def _night_leak(
    sensor: str, ordered: list[Seen], tz: ZoneInfo, fired: dict[tuple[str, str], Fired]
) -> None:
    nights: dict[str, tuple[float, float]] = {}
    for r in ordered:
        if "flow" not in r.values:
            continue
        local = datetime.fromtimestamp(r.ts, tz)
        if 2 <= local.hour < 5:
            key = local.date().isoformat()
            end = local.replace(hour=5, minute=0, second=0).timestamp()
            low = min(nights.get(key, (r.values["flow"], end))[0], r.values["flow"])
            nights[key] = (low, end)
    mins = [nights[k] for k in sorted(nights)]
    streak_w = streak_c = 0
    for i in range(7, len(mins)):
        median = statistics.median(v for v, _ in mins[i - 7 : i])
        ratio = mins[i][0] / median
        streak_w = streak_w + 1 if ratio > 1.2 else 0
        streak_c = streak_c + 1 if ratio > 1.5 else 0
        if streak_w >= 2:
            sev = "critical" if streak_c >= 2 else "warning"
            fired.setdefault(
                (sensor, "water.night_leak"), Fired(sensor, "water.night_leak", sev, mins[i][1])
            )


def _grade(values: dict[str, float]) -> int:
    """Black-and-odorous grade of one reading: 0 none, 1 light, 2 heavy (domain.md §2)."""
    heavy = (
        ("transparency", below(10)),
        ("do", below(0.2)),
        ("orp", below(-200)),
        ("nh3n", above(15)),
    )
    light = (
        ("transparency", below(25)),
        ("do", below(2.0)),
        ("orp", below(50)),
        ("nh3n", above(8)),
    )
    if any(n in values and c(values[n]) for n, c in heavy):
        return 2
    return 1 if any(n in values and c(values[n]) for n, c in light) else 0


# Each grade indicator's own rule, at its warning limit: it holds whenever the grade's light
# limit does (the default limits contain the grade's), so it covers the grade.
_OWN: dict[str, Check] = {
    "transparency": below(25),
    "do": below(3.0),
    "orp": below(50),
    "nh3n": above(2.0),
}


def _covered(values: dict[str, float]) -> bool:
    """Precedence (`inhibits:`): every indicator past its light limit has its own rule's
    condition holding on the same reading, so the grade is a note, not a ticket."""
    light = {"transparency": below(25), "do": below(2.0), "orp": below(50), "nh3n": above(8)}
    bad = [n for n, c in light.items() if n in values and c(values[n])]
    return all(_OWN[n](values[n]) for n in bad)


def _black_odorous(sensor: str, ordered: list[Seen], fired: dict[tuple[str, str], Fired]) -> None:
    series = [(r.ts, float(_grade(r.values) if not _covered(r.values) else 0)) for r in ordered]
    first = _held(series, at_least(1), H)
    if first is not None:
        crit = _held(series, at_least(2), H)
        sev = "critical" if crit else "warning"
        fired[sensor, "pond.black_odorous"] = Fired(sensor, "pond.black_odorous", sev, first)


def _burst(sensor: str, ordered: list[Seen], fired: dict[tuple[str, str], Fired]) -> None:
    prev: tuple[float, float] | None = None
    for r in ordered:
        p = r.values.get("pressure")
        if p is None:
            continue
        if prev is not None and r.ts - prev[0] <= 5 * M and prev[1] - p > 0.05:
            fired.setdefault(
                (sensor, "water.burst"), Fired(sensor, "water.burst", "critical", r.ts)
            )
            return
        prev = (r.ts, p)
