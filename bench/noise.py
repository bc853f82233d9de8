"""Noise benchmark: a month of the demo site with realistic noise, weather, sensor faults and
data gaps, and a known list of injected problems (bench/noise_plan.py), through the real
gateway; then river's real pipeline flow replayed the same way.

    .venv/bin/python -m bench.noise [--days 30] [--seed 5] [--direct]

Path of every message: the simulators' MQTT payload, published QoS 1 to a real Mosquitto ->
the real `Gateway` (its MQTT session, batcher, InfluxDB write, ack after commit) on a real
InfluxDB -> `services.alarms.Alarms` (rule engine with the shipped default rules and
precedence, rule state and tickets in a real SQLite database through the ticket service) ->
tickets. The hub clock is the simulated one, in lockstep with the broker (`run_site_gateway`):
30 simulated days go by in minutes, and dropouts open offline tickets as they would live.
`--direct` skips broker and InfluxDB (payloads straight into `gateway.ingest.ingest`), for
working on the rules alone; both paths must score the same.

Scoring: a ticket is a detection of an injected problem when its sensor is the problem's, its
rule one the problem allows, and it opened between the problem's start (less 10 min) and its
end; any other ticket is false. Missed: a problem without a ticket of one of its `must` rules.
Duplicate: a second ticket of the same rule for one problem. Time to ticket: the hub time the
first `must` ticket was created, less the problem's start (rise times included).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import machine
from bench.noise_plan import Problem, plan
from bench.noisehub import NS, Seen, run_site, run_site_gateway
from domain.site import Community, Grid, Person, Sensor, Site
from simulators import demo
from simulators.scenario import load_scenario, parse_scenario
from simulators.simulation import Simulation

START = datetime(2025, 9, 1, tzinfo=UTC)
RIVER_SENSOR = "water-river-01"
RIVER_RULES = {"sensors": {RIVER_SENSOR: {"sensor.stuck": {"samples": {"flow": 5}}}}}
"""The meter reports in steps of 0.01 L/s (0.036 m³/h, coarser than the catalog's 0.01 m³/h,
so at the catalog's tolerance one step is a change). A live meter in a calm spell dithers
across neighbouring steps: 03-24 (24.26–24.28 over 10 h) and 04-27 (24.24–24.26 over 9 h)
never repeat one value more than three hours running. A frozen one repeats it exactly: 03-29
sends 24.26 five hours in a row between 24.27 and 24.25, the 7-hour flat stretch. Five equal
readings in a row (`samples`) is that meter's flatline; a band of two steps would call all
three calm spells stuck (see docs/decisions.md, "A quantised meter's flatline")."""


def score(problems: list[Problem], seen: list[Seen], start_s: float) -> dict[str, Any]:
    t0 = int(start_s * NS)
    matched: dict[int, list[Seen]] = defaultdict(list)
    false: list[Seen] = []
    for t in seen:
        hit = next(
            (
                i
                for i, p in enumerate(problems)
                if t.sensor == p.sensor
                and t.rule in p.rules
                # opened_at is when the condition began: for offline, the last reading heard
                and t0 + (p.start - 3600) * NS <= t.opened_ns <= t0 + p.end * NS
            ),
            None,
        )
        if hit is None:
            false.append(t)
        else:
            matched[hit].append(t)
    missed = [p for i, p in enumerate(problems) if not any(t.rule in p.must for t in matched[i])]
    duplicates = []
    delays: dict[str, list[float]] = defaultdict(list)
    for i, p in enumerate(problems):
        by_rule: dict[str, list[Seen]] = defaultdict(list)
        for t in matched[i]:
            by_rule[t.rule].append(t)
        duplicates += [(p, r, len(ts)) for r, ts in by_rule.items() if len(ts) > 1]
        firsts = [min(ts, key=lambda t: t.created_ns) for r, ts in by_rule.items() if r in p.must]
        if firsts:
            first = min(firsts, key=lambda t: t.created_ns)
            delays[first.rule].append((first.created_ns - t0) / NS - p.start)
    return {"false": false, "missed": missed, "duplicates": duplicates, "delays": delays}


def _river_site() -> Site:
    person = Person(id="w-river", name="River")
    return Site(
        communities=[
            Community(
                id="river",
                name="river replay",
                supervisor=person,
                grids=[Grid(id="river-g1", name="river", worker=person)],
            )
        ],
        sensors=[Sensor(id=RIVER_SENSOR, kind="water", grid="river-g1", interval_s=3600)],
    )


def river_run(work: Path, direct: bool = False) -> tuple[list[Seen], int, float, float]:
    """river's water-flow.csv as the hourly flow of one network meter (interval_s 3600)."""
    import river  # the dev extra; the benchmark's real data

    csv = Path(river.__file__).parent / "datasets" / "water-flow.csv"
    site = _river_site()
    from simulators.replay import read_series

    rows = read_series(csv)
    first, last = rows[0][0], rows[-1][0]
    sc = parse_scenario(
        {
            "name": "river",
            "site": "-",
            "start": datetime.fromtimestamp(first, tz=UTC).isoformat(),
            "replay": [{"sensor": RIVER_SENSOR, "metric": "flow", "csv": str(csv), "unit": "l/s"}],
        },
        "river",
        site,
    )
    sim = Simulation(site, start=first, scenario=sc)
    emissions = sim.emissions(last + 1)
    if direct:
        run = run_site(site, emissions, first, work / "river.db", RIVER_RULES)
    else:
        (work / "river").mkdir()
        # hourly readings: a step of 6 h (its ticks late by up to that; only offline minds)
        run = run_site_gateway(site, emissions, first, work / "river", RIVER_RULES, 6 * 3600)
    seen, n, secs = asyncio.run(run)
    return seen, n, secs, first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument(
        "--direct",
        action="store_true",
        help="skip the broker and InfluxDB: payloads straight into ingest (rules work only)",
    )
    args = ap.parse_args()
    _, site = load_scenario(demo.scenario_path("storm-night"))  # the demo site, as shipped
    p = plan(site, args.days, args.seed)
    start = START.timestamp()
    sc = parse_scenario(
        {
            "name": "noise",
            "site": "-",
            "start": START.isoformat(),
            "seed": args.seed,
            "duration": args.days * 86_400,
            "events": p.events,
            "faults": p.faults,
        },
        "noise",
        site,
    )
    sim = Simulation(site, start=start, seed=args.seed, scenario=sc)
    print(f"# noise benchmark — {machine()}")
    print(
        "path: simulator payloads -> "
        + ("gateway ingest (no broker)" if args.direct else "Mosquitto -> Gateway -> InfluxDB")
        + " -> rule engine (default rules) -> ticket service on SQLite, hub clock = simulated "
        "time (see bench/README.md)"
    )
    shm = Path("/dev/shm")  # noqa: S108 - a private mkdtemp in it: measure rules, not fsync
    where = shm if shm.is_dir() else None
    with tempfile.TemporaryDirectory(prefix="gw-noise-", dir=where) as tmp:
        work = Path(tmp)
        emissions = sim.emissions(start + args.days * 86_400)
        if args.direct:
            run = run_site(site, emissions, start, work / "site.db")
        else:
            (work / "site").mkdir()
            run = run_site_gateway(site, emissions, start, work / "site")
        seen, n, secs = asyncio.run(run)
        r = score(p.problems, seen, start)
        sensor_days = len(site.sensors) * args.days
        print(
            f"site: {len(site.sensors)} sensors x {args.days:g} days = {sensor_days:,.0f} "
            f"sensor-days, {n:,} readings in {secs:.1f} s; {len(seen)} tickets; "
            f"{len(p.problems)} injected problems"
        )
        print(
            f"false tickets per 100 sensor-days: {100 * len(r['false']) / sensor_days:.2f} "
            f"({len(r['false'])} false; target <= 0.2)"
        )
        print(f"missed injected problems: {len(r['missed'])} (target 0)")
        print(f"duplicate tickets for one injected problem: {len(r['duplicates'])} (target 0)")
        for rule in sorted(r["delays"]):
            d = r["delays"][rule]
            print(
                f"median time to ticket, {rule}: {statistics.median(d) / 60:.0f} min (n={len(d)})"
            )
        for t in r["false"]:
            print(f"  false: {t.sensor} {t.rule} opened +{(t.opened_ns / NS - start) / 3600:.1f} h")
        for m in r["missed"]:
            print(f"  missed: {m.name} at {m.sensor} (+{m.start / 3600:.1f} h)")
        for prob, rule, count in r["duplicates"]:
            print(f"  duplicate: {prob.name} at {prob.sensor}: {count} x {rule}")
        rseen, rn, rsecs, _ = river_run(work, args.direct)
    stuck = sorted(e for t in rseen if t.rule == "sensor.stuck" for e in t.episodes)
    others = [t for t in rseen if t.rule != "sensor.stuck"]

    def when(ns: int) -> str:
        return f"{datetime.fromtimestamp(ns / NS, tz=UTC):%Y-%m-%d %H:%M}Z"

    print(
        f"river replay: {rn:,} hourly readings in {rsecs:.1f} s; {len(stuck)} stuck episode(s)"
        + "".join(f" [{when(e)}]" for e in stuck)
        + f"; {len(others)} other ticket(s)"
        + "".join(f" [{t.rule} since {when(t.opened_ns)}]" for t in others)
    )


if __name__ == "__main__":
    main()
