"""The noise benchmark's month on the demo site: weather, noise faults that must raise nothing,
and the known list of injected problems, each with the rules allowed to report it.

Every time is a fraction of the run, so a two-day smoke run places the same kinds of problem
(those that fit: a night leak needs a week of nights, a battery days of decline).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from domain.site import Site

H = 3600.0
POND = {"pond.low_oxygen", "pond.ammonia", "pond.reducing", "pond.murky", "pond.ph"}


@dataclass(frozen=True)
class Problem:
    """One injected problem: where, when (s after the start) and which rules may report it.
    `must`: at least one ticket of these is a detection; `allowed`: others that are right too."""

    name: str
    sensor: str
    start: float
    end: float
    must: frozenset[str]
    allowed: frozenset[str] = frozenset()

    @property
    def rules(self) -> frozenset[str]:
        return self.must | self.allowed


@dataclass
class Plan:
    events: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _ids(site: Site, prefix: str) -> list[str]:
    return [s.id for s in site.sensors if s.id.startswith(prefix)]


def plan(site: Site, days: float, seed: int) -> Plan:
    rnd = random.Random(seed)
    total = days * 86_400.0
    p = Plan()
    ponds, tanks, nets = _ids(site, "pond-"), _ids(site, "water-qp-tank"), _ids(site, "water-")
    nets = [s for s in nets if "-net-" in s]
    manholes, txs = _ids(site, "sewer-"), _ids(site, "power-")
    txs = [s for s in txs if "-tx-" in s]
    taken: set[str] = set()

    def pick(pool: list[str]) -> str:
        free = [s for s in pool if s not in taken]
        s = rnd.choice(free)
        taken.add(s)
        return s

    def at(frac: float) -> float:
        return round(frac * total / 60) * 60

    def problem(
        name: str,
        sensor: str,
        start: float,
        end: float,
        must: set[str],
        allowed: frozenset[str] = frozenset(),
    ) -> None:
        p.problems.append(Problem(name, sensor, start, end, frozenset(must), allowed))

    # -- weather: storms over the whole site (sewers rise, nothing should open) ----------------
    for _ in range(max(1, int(days / 8))):
        p.events.append({"type": "rain", "at": at(0.1 + 0.8 * rnd.random()), "rise": 3600,
                         "duration": rnd.uniform(1, 4) * H, "recovery": 5400,
                         "peak_mm_h": rnd.uniform(15, 60)})  # fmt: skip
    # -- infrastructure problems -------------------------------------------------------------
    s, t0 = pick(ponds), at(0.15)
    rise = min(3 * 86_400.0, total / 4)
    p.events.append({"type": "black_odorous", "sensors": [s], "at": t0, "rise": rise,
                     "duration": total / 3, "recovery": 6 * H})  # fmt: skip
    problem(
        "black-odorous pond",
        s,
        t0,
        t0 + rise + total / 3 + 24 * H,
        {"pond.low_oxygen"},
        frozenset(POND),
    )
    s, t0 = pick(ponds), at(0.55)
    p.events.append({"type": "overflow", "sensors": [s], "at": t0, "rise": 3600,
                     "duration": 5 * H, "recovery": 16 * H, "nh3n_mg_l": 10})  # fmt: skip
    problem(
        "sewage overflow into a pond",
        s,
        t0,
        t0 + 72 * H,
        {"pond.low_oxygen", "pond.ammonia"},
        frozenset(POND),
    )
    s, t0 = pick(manholes), at(0.3)
    p.events.append({"type": "surcharge", "sensors": [s], "at": t0, "rise": 2400,
                     "duration": 2 * H, "recovery": 3600, "freeboard_m": 0.1})  # fmt: skip
    problem("manhole surcharge", s, t0, t0 + 8 * H, {"sewer.surcharge", "sewer.overflow"})
    s, t0 = pick([m for m in manholes if "-mh-" in m]), at(0.7)
    p.events.append({"type": "blockage", "sensors": [s], "at": t0, "duration": 10 * H,
                     "recovery": 3600, "fill_per_hour": 0.1})  # fmt: skip
    problem("blocked pipe", s, t0, t0 + 16 * H, {"sewer.surcharge"}, frozenset({"sewer.overflow"}))
    s, t0 = pick(nets), at(0.45)
    p.events.append({"type": "burst", "sensors": [s], "at": t0, "rise": 120,
                     "duration": 3 * H, "recovery": 1800})  # fmt: skip
    problem("burst main", s, t0, t0 + 6 * H, {"water.burst"}, frozenset({"water.pressure_low"}))
    if days >= 10:
        s, t0 = pick(nets), at(0.5)
        p.events.append({"type": "night_leak", "sensors": [s], "at": t0, "flow_m3_h": 15})
        problem("hidden leak", s, t0, total, {"water.night_leak"})
    s, t0 = pick(txs), at(0.6)
    p.events.append({"type": "overload", "sensors": [s], "at": t0, "rise": 1800,
                     "duration": 4 * H, "recovery": 1800, "load_pct": 60})  # fmt: skip
    problem(
        "transformer overload",
        s,
        t0,
        t0 + 8 * H,
        {"power.load"},
        frozenset({"power.oil_temp", "power.voltage"}),
    )
    s, t0 = pick(txs), at(0.8)
    p.events.append({"type": "outage", "sensors": [s], "at": t0, "duration": 2 * H})
    problem("power outage", s, t0, t0 + 3 * H, {"power.outage"}, frozenset({"power.voltage"}))
    # -- sensor faults that are problems -----------------------------------------------------
    s, t0 = pick(tanks), at(0.25)
    p.faults.append({"type": "stuck", "sensor": s, "at": t0, "duration": 8 * H})
    problem("stuck tank logger", s, t0, t0 + 9 * H, {"sensor.stuck"})
    span = min(30 * H, total * 0.5)
    if span > 24 * H + 3600:  # longer than the sewer window, or it is noise, not a problem
        s, t0 = pick([m for m in manholes if "-mh-" in m]), at(0.35)
        p.faults.append({"type": "stuck", "sensor": s, "at": t0, "duration": span,
                         "metrics": ["fill", "freeboard"]})  # fmt: skip
        problem("fouled level sensor", s, t0, t0 + span + H, {"sensor.stuck"})
    if days >= 6:
        s, t0 = pick(manholes), at(0.2)
        p.faults.append({"type": "battery", "sensor": s, "at": t0, "per_day": 0.05, "accel": 0.01})
        problem("failing battery", s, t0, total, {"sensor.battery"})
    s, t0 = pick(_ids(site, "power-")), at(0.4)
    p.faults.append(
        {"type": "clock_skew", "sensor": s, "at": t0, "duration": 12 * H, "to": "y2000"}
    )
    problem("clock reset to 2000 (readings refused)", s, t0, t0 + 13 * H, {"sensor.offline"})
    # -- data gaps: dropouts of 1-12 h, some with cached readings sent on reconnect ------------
    for k in range(max(2, int(days / 2.5))):
        s = pick([x for x in site_ids(site) if x not in taken])
        t0 = at(0.05 + 0.9 * (k + rnd.random()) / max(2, int(days / 2.5)))
        length = rnd.uniform(1, 12) * H
        p.faults.append({"type": "dropout", "sensor": s, "at": t0, "duration": length,
                         "cached": rnd.random() < 0.5})  # fmt: skip
        problem(f"dropout {length / H:.1f} h", s, t0, t0 + length + H, {"sensor.offline"})
    # -- noise that must open nothing ---------------------------------------------------------
    noisy = [x for x in site_ids(site) if x not in taken]
    rnd.shuffle(noisy)
    pond_noise = [x for x in noisy if x.startswith("pond-")][:1]
    for s in pond_noise:
        p.faults.append({"type": "spike", "sensor": s, "metric": "do", "size": 8, "every": 3 * H})
        p.faults.append({"type": "drift", "sensor": s, "metric": "do", "per_day": -0.03})
    # on a meter that sends one message per reading: held back one message is 2 intervals of
    # silence; on a water logger uploading 3 readings at a time it would be 6 (offline, rightly)
    for s in [x for x in noisy if "-room-" in x][:1]:
        p.faults.append({"type": "duplicate", "sensor": s, "probability": 0.3})
        p.faults.append({"type": "out_of_order", "sensor": s, "probability": 0.3})
    for s in [x for x in noisy if x.startswith("sewer-")][:1]:
        p.faults.append({"type": "malformed", "sensor": s, "probability": 0.05})
        p.faults.append({"type": "seq_reset", "sensor": s, "at": at(0.5)})
    return p


def site_ids(site: Site) -> list[str]:
    return [s.id for s in site.sensors]
