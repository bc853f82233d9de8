"""Rule-engine hot path: `.venv/bin/python -m bench.rules [readings] [sensors]`.

Feeds realistic readings (four metrics each, every default rule loaded) through
`RuleEngine.evaluate` and reports µs per reading and readings per second, with `changes()`
taken after every batch of 1,000 as the gateway would.
"""

from __future__ import annotations

import random
import sys
import time

from domain.catalog import Kind
from domain.measurement import Measurement
from domain.site import Registry, parse_site
from services.rules.book import load_rules
from services.rules.engine import RuleEngine

NS = 1_000_000_000
METRICS = {
    Kind.POND: {"do": (6.0, 1.0), "ph": (7.5, 0.3), "orp": (150.0, 30.0), "nh3n": (1.0, 0.3)},
    Kind.WATER: {"pressure": (0.3, 0.01), "chlorine": (0.4, 0.05), "ph": (7.5, 0.1),
                 "flow": (5.0, 1.0)},
    Kind.POWER: {"voltage": (220.0, 3.0), "frequency": (50.0, 0.03), "load_rate": (60.0, 5.0),
                 "oil_temp": (60.0, 3.0)},
    Kind.SEWER: {"fill": (0.4, 0.05), "freeboard": (1.5, 0.1), "h2s": (1.0, 0.5),
                 "o2": (20.9, 0.1)},
}  # fmt: skip


def registry(sensors: int) -> Registry:
    kinds = list(Kind)
    return Registry(
        parse_site(
            {
                "communities": [
                    {
                        "id": "bench",
                        "name": "bench",
                        "supervisor": {"id": "sup", "name": "sup"},
                        "grids": [{"id": "g-1", "name": "g", "worker": {"id": "wkr", "name": "w"}}],
                    }
                ],
                "sensors": [
                    {"id": f"s-{i:05d}", "kind": kinds[i % 4].value, "grid": "g-1"}
                    for i in range(sensors)
                ],
            }
        )
    )


def main(readings: int = 200_000, sensors: int = 1_000) -> None:
    rnd = random.Random(7)  # reproducible load, not crypto
    reg = registry(sensors)
    engine = RuleEngine(load_rules(registry=reg), reg, started_ns=1_750_000_000 * NS)
    places = list(reg.placements.values())
    batch: list[Measurement] = []
    t0 = 1_750_000_000 * NS
    for i in range(readings):
        p = places[i % sensors]
        kind = p.sensor.kind
        fields = {m: rnd.gauss(mu, sd) for m, (mu, sd) in METRICS[kind].items()}
        ts = t0 + (i // sensors) * 60 * NS
        batch.append(Measurement(p.sensor.id, kind, p.grid.id, p.community.id, ts, fields))
    breaches = 0
    started = time.perf_counter()
    for i, m in enumerate(batch):
        breaches += len(engine.evaluate(m))
        if i % 1000 == 999:
            engine.changes()
    elapsed = time.perf_counter() - started
    print(
        f"{readings} readings x 4 metrics, {sensors} sensors: "
        f"{elapsed / readings * 1e6:.2f} µs per evaluate(), {readings / elapsed:,.0f} readings/s, "
        f"{breaches} breaches"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
