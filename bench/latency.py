"""Latency figures as bench.live prints them: percentiles of milliseconds, one line each."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentiles(values: Sequence[float]) -> dict[str, float]:
    s = sorted(values)
    if not s:
        return {"n": 0}

    def at(q: float) -> float:
        return s[min(len(s) - 1, int(len(s) * q))]

    return {
        "n": len(s),
        "p50": at(0.5),
        "p90": at(0.9),
        "p99": at(0.99),
        "max": s[-1],
        "mean": statistics.fmean(s),
    }


def show(name: str, p: dict[str, float]) -> str:
    if not p.get("n"):
        return f"  {name}: no samples"
    return (
        f"  {name}: n={int(p['n']):,}  p50 {p['p50']:.0f} ms  p90 {p['p90']:.0f} ms  "
        f"p99 {p['p99']:.0f} ms  max {p['max']:.0f} ms"
    )
