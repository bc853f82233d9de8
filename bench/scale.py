"""Start-up and memory at scale: registry and rule-engine construction for 100,000 sensors,
the gateway process's resident memory after both, against a 1,000-sensor baseline.

    .venv/bin/python -m bench.scale [--sensors 100000]

Each size runs in a fresh child process (RSS is per process): load the site YAML from disk,
build the Registry, load the rules, build the RuleEngine and the gateway itself (no broker is
contacted), then report seconds per step and peak RSS. Then every sensor reports once: one
reading each through `RuleEngine.evaluate`, in the gateway's batches with `changes()` taken
after each (what `services.alarms.Alarms.accept` does), and peak RSS is reported again: the
engine keeps idle rules stateless, so only the second figure is what a running hub holds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

from bench.common import METRICS, machine, write_site


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(site_file: str, out: multiprocessing.queues.Queue[dict[str, float]]) -> None:
    t0 = time.perf_counter()
    from domain.measurement import Measurement
    from domain.site import Registry, load_site
    from gateway.service import build_gateway
    from gateway.settings import GatewaySettings
    from gateway.testing import MemoryMeasurementSink, MemoryRejectionSink
    from services.rules.book import load_rules
    from services.rules.engine import RuleEngine

    imports = time.perf_counter()
    registry = Registry(load_site(Path(site_file)))
    loaded = time.perf_counter()
    book = load_rules(registry=registry)
    engine = RuleEngine(book, registry, started_ns=time.time_ns(), state={})
    ruled = time.perf_counter()
    build_gateway(
        GatewaySettings(),
        registry,
        measurements=MemoryMeasurementSink(),
        rejections=MemoryRejectionSink(),
    )
    built = time.perf_counter()
    rss_started = _rss_mb()
    # Every sensor reports once, in the gateway's batches (the readings of one batch are alive
    # together); the changed state goes to the database, so the bench drops it.
    batch_size = GatewaySettings().batch_size
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
        engine.changes()
    fed = time.perf_counter()
    out.put(
        {
            "imports": imports - t0,
            "site": loaded - imports,
            "rules": ruled - loaded,
            "gateway": built - ruled,
            "total": built - t0,
            "rss_mb": rss_started,
            "feed": fed - built,
            "fed_rss_mb": _rss_mb(),
            "breaches": breaches,
        }
    )


def measure(work: Path, sensors: int) -> dict[str, float]:
    site_file = write_site(work / f"site-{sensors}.yaml", sensors)
    ctx = multiprocessing.get_context("spawn")
    q: multiprocessing.queues.Queue[dict[str, float]] = ctx.Queue()
    p = ctx.Process(target=_measure, args=(str(site_file), q))
    p.start()
    result = q.get(timeout=300)
    p.join()
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
        print(f"{name}: start-up {r['total']:.2f} s ({steps}); peak RSS {r['rss_mb']:.0f} MB")
        print(
            f"  after one reading per sensor ({r['feed']:.2f} s, {r['breaches']:.0f} breaches): "
            f"peak RSS {r['fed_rss_mb']:.0f} MB"
        )
    print(
        f"ratio: {args.sensors / 1000:g}x the sensors costs {big['total'] / base['total']:.1f}x "
        f"the start-up and {big['fed_rss_mb'] / base['fed_rss_mb']:.1f}x the memory"
    )
    print(json.dumps({"targets": {"startup_s": 10, "rss_mb": 300}}))


if __name__ == "__main__":
    main()
