"""Micro-benchmark of the pure ingest path: µs per message for `gateway.ingest.ingest`, against a
baseline of stdlib `json` plus a pydantic model doing the same checks, in the same run.

    .venv/bin/python -m bench.decode [--seconds 1.0]

No broker, no database: this measures decoding and validation alone (bench/ingest.py measures
the whole gateway).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial

from pydantic import BaseModel, ConfigDict, field_validator

from domain.catalog import CATALOG, HEALTH, Kind
from domain.measurement import Measurement
from domain.site import Registry, parse_site
from gateway.ingest import FLOOR_NS, ingest

NOW_NS = 1_764_144_100 * 10**9
TOPIC = "sensors/pond/pond-qp-01/telemetry"


def _registry() -> Registry:
    return Registry(
        parse_site(
            {
                "communities": [
                    {
                        "id": "qingping",
                        "name": "q",
                        "supervisor": {"id": "s-003", "name": "z"},
                        "grids": [
                            {"id": "qp-g1", "name": "g", "worker": {"id": "w-017", "name": "l"}}
                        ],
                    }
                ],
                "sensors": [{"id": "pond-qp-01", "kind": "pond", "grid": "qp-g1"}],
            }
        )
    )


def _reading(i: int) -> dict[str, object]:
    return {
        "ts": 1_764_144_000 - 300 * i,
        "seq": 812 + i,
        "battery_v": 3.61,
        "rssi_dbm": -71,
        "values": {"do": 5.8, "ph": 7.2, "nh3n": 0.9, "temp": 18.4, "orp": 210.0},
    }


SINGLE = json.dumps(_reading(0)).encode()
BATCH = json.dumps({"readings": [_reading(i) for i in range(100)]}).encode()


# ---------------------------------------------------------------- baseline: json + pydantic


class _Reading(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=False)
    ts: int | float | str | None = None
    seq: int | None = None
    battery_v: float | None = None
    rssi_dbm: float | None = None
    values: dict[str, float]

    @field_validator("values")
    @classmethod
    def _known(cls, v: dict[str, float]) -> dict[str, float]:
        for name, value in v.items():
            m = CATALOG[Kind.POND].get(name)
            if m is None or not m.plausible(value):
                raise ValueError(name)
        return v


class _Batch(BaseModel):
    readings: list[_Reading]


def _baseline(topic: str, payload: bytes, registry: Registry, now_ns: int) -> list[Measurement]:
    """What a straightforward implementation looks like: parse, model, check, build."""
    _, _, sensor, _ = topic.split("/")
    p = registry.get(sensor)
    assert p is not None
    doc = json.loads(payload)
    readings = (
        _Batch.model_validate(doc).readings if "readings" in doc else [_Reading.model_validate(doc)]
    )
    out = []
    for r in readings:
        if r.ts is None:
            ts_ns = now_ns
        elif isinstance(r.ts, str):
            ts_ns = int(datetime.fromisoformat(r.ts).timestamp() * 1e9)
        else:
            ts_ns = int(r.ts * 1e6) * 1000 if r.ts > 10**12 else int(r.ts * 1e9)
        if not FLOOR_NS <= ts_ns <= now_ns + 300 * 10**9:
            continue
        fields = dict(r.values)
        for name in ("battery_v", "rssi_dbm"):
            v = getattr(r, name)
            if v is not None and math.isfinite(v) and HEALTH[name].plausible(v):
                fields[name] = v
        out.append(
            Measurement(p.sensor.id, p.sensor.kind, p.grid.id, p.community.id, ts_ns, fields, r.seq)
        )
    return out


# ---------------------------------------------------------------- timing


def _per_call_us(fn: Callable[[], object], seconds: float, repeats: int = 7) -> float:
    """The best of `repeats` runs: other processes on the machine only ever add time."""
    best = math.inf
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        deadline = start + seconds / repeats
        while True:
            for _ in range(20):
                fn()
            n += 20
            now = time.perf_counter()
            if now >= deadline:
                break
        best = min(best, (now - start) / n * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    registry = _registry()

    for payload, label, readings in (
        (SINGLE, "single reading", 1),
        (BATCH, "100-reading batch", 100),
    ):
        ours = ingest(TOPIC, payload, registry, NOW_NS)
        theirs = _baseline(TOPIC, payload, registry, NOW_NS)
        assert not ours.rejections
        assert len(ours.measurements) == len(theirs) == readings
        assert [m.fields for m in ours.measurements] == [m.fields for m in theirs]
        t_ours = _per_call_us(partial(ingest, TOPIC, payload, registry, NOW_NS), args.seconds)
        t_base = _per_call_us(partial(_baseline, TOPIC, payload, registry, NOW_NS), args.seconds)
        print(
            f"{label:18} ingest {t_ours:8.1f} µs/msg ({readings / t_ours * 1e6:9,.0f} readings/s)"
            f" | json+pydantic {t_base:8.1f} µs/msg ({readings / t_base * 1e6:9,.0f} readings/s)"
            f" | ratio {t_base / t_ours:.2f}x"
        )


if __name__ == "__main__":
    main()
