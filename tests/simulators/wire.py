"""Reading back what the simulators publish, for assertions: the three payload forms of
contract §2 decoded into (sensor, ts, values). Deliberately independent of the gateway's
decoder, so a shared misunderstanding cannot hide."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from simulators.device import Emission


@dataclass(frozen=True)
class Seen:
    sensor: str
    ts: float
    values: dict[str, float]
    seq: int | None
    battery_v: float | None
    form: str  # reading | batch | senml


def decode(e: Emission) -> list[Seen] | None:
    """The readings in one telemetry message; None when it is not valid JSON of any form."""
    try:
        doc: Any = json.loads(e.payload)
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(doc, list):
        base: dict[str, Any] = doc[0] if doc else {}
        values = {r["n"]: float(r["v"]) for r in doc if r["n"] not in ("battery_v", "rssi_dbm")}
        batt = next((r["v"] for r in doc if r["n"] == "battery_v"), None)
        return [Seen(e.sensor, float(base["bt"]), values, None, batt, "senml")]
    if not isinstance(doc, dict):
        return None
    if "readings" in doc:
        return [_one(e.sensor, r, "batch") for r in doc["readings"]]
    if not isinstance(doc.get("values"), dict) or not isinstance(doc.get("ts"), int | float):
        return None
    return [_one(e.sensor, doc, "reading")]


def _one(sensor: str, r: dict[str, Any], form: str) -> Seen:
    return Seen(sensor, float(r["ts"]), dict(r["values"]), r.get("seq"), r.get("battery_v"), form)
