"""Start-up and memory at scale: registry and rule-engine construction for 100,000 sensors,
the gateway process's resident memory after both, against a 1,000-sensor baseline.

    .venv/bin/python -m bench.scale [--sensors 100000]

Each size runs in a fresh child process (RSS is per process): load the site YAML from disk,
build the Registry, load the rules, build the RuleEngine and the gateway itself (no broker is
contacted), freeze the start-up heap as the gateway does (`adapters.heap.settle`), then report
seconds per step, peak RSS and the RSS held then. Then every sensor reports once: one reading
each through `RuleEngine.evaluate`, in the gateway's batches, `changes()` taken after each and
saved to a SQLite rule-state store (what `services.alarms.Alarms.accept` does), and RSS is
reported again: the engine keeps idle rules stateless, so the second figure is what a running
hub holds. Last, a restart's share of the rules process: the saved state loaded back and a
new engine built from it.

The registry there is read from the site file. A hub on the live registry (issue 13) reads it
from the database instead (`services.registry.runtime.open_registry`, what `gridwatch gateway`
does): two more fresh children time its first start (the empty SQLite database seeded from the
site file, then read back) and a later start (read only), against the site file's read as the
same run's baseline.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import METRICS, machine, write_site


def _rss_mb() -> float:
    """Peak RSS of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_now_mb() -> float:
    """RSS of this process now (the peak includes what start-up parsed and let go)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _measure(site_file: str, out: multiprocessing.queues.Queue[dict[str, float]]) -> None:
    t0 = time.perf_counter()
    from adapters import heap
    from domain.measurement import Measurement
    from domain.site import Registry, load_site
    from gateway.front import Sinks
    from gateway.testing import MemoryMeasurementSink, MemoryRejectionSink
    from gridwatch.hub import build_front
    from gridwatch.settings import load_settings
    from services.db.engine import open_database
    from services.db.rule_state import SqlRuleStateStore
    from services.rules.book import load_rules
    from services.rules.engine import RuleEngine

    imports = time.perf_counter()
    with heap.paused():  # as the hub's commands load a site (adapters.heap)
        registry = Registry(load_site(Path(site_file)))
    loaded = time.perf_counter()
    book = load_rules(registry=registry)
    with heap.paused():  # as gridwatch.hub.open_alarms builds it
        engine = RuleEngine(book, registry, started_ns=time.time_ns(), state={})
    ruled = time.perf_counter()
    build_front(
        load_settings(),
        registry,
        Sinks(MemoryMeasurementSink(), MemoryRejectionSink()),
    )
    heap.settle()
    built = time.perf_counter()
    rss_started, rss_started_now = _rss_mb(), _rss_now_mb()
    # Every sensor reports once, in the gateway's batches (the readings of one batch are alive
    # together); the changed state goes to a SQLite store, as the hub's does.
    store = SqlRuleStateStore(open_database(f"sqlite:///{Path(site_file).parent}/state.db"))
    batch_size = load_settings().batch.size
    places = list(registry.placements.values())
    now = time.time_ns()
    breaches = 0
    for start in range(0, len(places), batch_size):
        batch = [
            Measurement(
                p.sensor.id,
                p.sensor.kind,
                p.grid.id,
                p.community.id,
                now,
                {k: round(v + (i % 7) * 0.01, 2) for k, v in METRICS.items()},
            )
            for i, p in enumerate(places[start : start + batch_size], start)
        ]
        for m in batch:
            breaches += len(engine.evaluate(m, now))
        store.save(engine.changes())
    fed = time.perf_counter()
    rss_fed, rss_fed_now = _rss_mb(), _rss_now_mb()
    with heap.paused():  # a restart, as gridwatch.hub.open_alarms does it
        state = store.load()
        state_loaded = time.perf_counter()
        RuleEngine(book, registry, started_ns=time.time_ns(), state=state)
        restarted = time.perf_counter()
    out.put(
        {
            "imports": imports - t0,
            "site": loaded - imports,
            "rules": ruled - loaded,
            "gateway": built - ruled,
            "total": built - t0,
            "rss_mb": rss_started,
            "rss_now_mb": rss_started_now,
            "feed": fed - built,
            "fed_rss_mb": rss_fed,
            "fed_rss_now_mb": rss_fed_now,
            "breaches": breaches,
            "rows": len(state),
            "state_load": state_loaded - fed,
            "engine": restarted - state_loaded,
        }
    )


def _open_live(
    site_file: str, db_url: str, out: multiprocessing.queues.Queue[dict[str, float]]
) -> None:
    """One start on the live registry: `open_registry` as `gridwatch gateway` calls it."""
    from services.registry.runtime import open_registry

    t0 = time.perf_counter()
    registry = open_registry(db_url, Path(site_file))
    out.put({"s": time.perf_counter() - t0, "rss_mb": _rss_mb(), "sensors": len(registry)})


def _child(target: Any, *args: str) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    q: multiprocessing.queues.Queue[dict[str, float]] = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    result: dict[str, float] = q.get(timeout=900)
    p.join()
    return result


def measure(work: Path, sensors: int) -> dict[str, float]:
    site_file = str(write_site(work / f"site-{sensors}.yaml", sensors))
    result = _child(_measure, site_file)
    db_url = f"sqlite:///{work / f'registry-{sensors}.db'}"
    first, later = _child(_open_live, site_file, db_url), _child(_open_live, site_file, db_url)
    assert first["sensors"] == later["sensors"] == sensors
    result |= {
        "live_first": first["s"],
        "live_first_rss_mb": first["rss_mb"],
        "live_later": later["s"],
        "live_later_rss_mb": later["rss_mb"],
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sensors", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="gridwatch-scale-") as tmp:
        base = measure(Path(tmp), 1_000)
        big = measure(Path(tmp), args.sensors)
    for name, r in ((f"{1_000:,} sensors", base), (f"{args.sensors:,} sensors", big)):
        steps = ", ".join(f"{k} {r[k]:.2f} s" for k in ("imports", "site", "rules", "gateway"))
        print(
            f"{name}: start-up {r['total']:.2f} s ({steps}); peak RSS {r['rss_mb']:.0f} MB, "
            f"held {r['rss_now_mb']:.0f} MB"
        )
        print(
            f"  after one reading per sensor ({r['feed']:.2f} s, {r['breaches']:.0f} breaches): "
            f"peak RSS {r['fed_rss_mb']:.0f} MB, held {r['fed_rss_now_mb']:.0f} MB"
        )
        print(
            f"  restart: {r['rows']:,.0f} rule-state rows loaded in {r['state_load']:.2f} s, "
            f"engine built from them in {r['engine']:.2f} s"
        )
        print(
            f"  live registry (SQLite): first start (seed + read) {r['live_first']:.2f} s, "
            f"peak RSS {r['live_first_rss_mb']:.0f} MB; later start {r['live_later']:.2f} s, "
            f"peak RSS {r['live_later_rss_mb']:.0f} MB = {r['live_later'] / r['site']:.1f}x "
            "the site file's read"
        )
    print(
        f"ratio: {args.sensors / 1000:g}x the sensors costs {big['total'] / base['total']:.1f}x "
        f"the start-up and {big['fed_rss_mb'] / base['fed_rss_mb']:.1f}x the memory"
    )
    targets = (  # issue 17's at a million sensors, issue 6's below
        {"startup_s": 20, "rss_mb": 1500}
        if args.sensors >= 1_000_000
        else {"startup_s": 10, "rss_mb": 300}
    )
    print(json.dumps({"targets": targets}))


if __name__ == "__main__":
    main()
