"""Readings as devices put them on the wire (contract §2): one JSON reading, a batch of
cached readings, or SenML (RFC 8428)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import msgspec

from domain.catalog import CATALOG, HEALTH, Kind


class Encoding(StrEnum):
    READING = "reading"
    BATCH = "batch"
    SENML = "senml"


@dataclass(slots=True)
class SimReading:
    """One sample as the device holds it. `ts` is what its clock says (may be skewed); `t` is
    the true simulated instant. `raw` carries values still in a unit of the source (replay),
    for SenML to send with their own `u`."""

    sensor: str
    kind: Kind
    t: float
    ts: float
    values: dict[str, float]
    seq: int | None = None
    battery_v: float | None = None
    rssi_dbm: float | None = None
    raw: dict[str, tuple[float, str]] = field(default_factory=dict)


def _ts(ts: float) -> int | float:
    return int(ts) if ts.is_integer() else round(ts, 3)


def reading_object(r: SimReading) -> dict[str, object]:
    obj: dict[str, object] = {"ts": _ts(r.ts)}
    if r.seq is not None:
        obj["seq"] = r.seq
    if r.battery_v is not None:
        obj["battery_v"] = r.battery_v
    if r.rssi_dbm is not None:
        obj["rssi_dbm"] = r.rssi_dbm
    obj["values"] = r.values
    return obj


def encode_reading(r: SimReading) -> bytes:
    return msgspec.json.encode(reading_object(r))


def encode_batch(readings: list[SimReading]) -> bytes:
    return msgspec.json.encode({"readings": [reading_object(r) for r in readings]})


def encode_senml(r: SimReading) -> bytes:
    """A SenML pack: the base name is the device, `n` the metric, units per the catalog
    (or the source's own unit for replayed values)."""
    units = CATALOG[r.kind]
    records: list[dict[str, object]] = []
    for name, value in r.values.items():
        raw_value, unit = r.raw.get(name, (value, units[name].unit if name in units else ""))
        records.append({"n": name, "u": unit, "v": raw_value})
    if r.battery_v is not None:
        records.append({"n": "battery_v", "u": HEALTH["battery_v"].unit, "v": r.battery_v})
    if r.rssi_dbm is not None:
        records.append({"n": "rssi_dbm", "u": HEALTH["rssi_dbm"].unit, "v": r.rssi_dbm})
    if records:
        records[0] = {"bn": f"urn:dev:id:{r.sensor}:", "bt": _ts(r.ts), **records[0]}
    return msgspec.json.encode(records)
