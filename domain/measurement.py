"""The value types of the data path: a validated `Measurement`, and the `Rejection` that
replaces anything that could not become one.

wire bytes --decode--> readings (untrusted) --validate--> Measurement | Rejection
Measurement --> InfluxDB (line protocol) and the rule engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import msgspec

from domain.catalog import Kind


class RejectReason(StrEnum):
    """Why input was refused (contract §2). The values are the public names: metric labels,
    API fields."""

    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNKNOWN_SENSOR = "unknown_sensor"
    RETIRED_SENSOR = "retired_sensor"  # a sensor the registry has retired (contract §7)
    KIND_MISMATCH = "kind_mismatch"
    UNKNOWN_METRIC = "unknown_metric"
    NOT_FINITE = "not_finite"
    IMPLAUSIBLE = "implausible"
    BAD_UNIT = "bad_unit"
    FUTURE_TS = "future_ts"
    TOO_OLD = "too_old"


class Measurement(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One validated reading of one sensor at one instant: the stored fact.

    `fields` holds catalog metrics and the health fields `battery_v`/`rssi_dbm` (floats);
    `seq` is kept apart because it is an integer counter. `ts_ns` is the device's time (or the
    hub's, when `hub_timed`), in nanoseconds since the epoch, UTC.

    A msgspec Struct rather than a frozen dataclass: one is built for every reading and, with
    several gateway workers, encoded and decoded once more on its way to the rules process. It
    is built in 0.11 µs instead of 0.76, travels as an array (97 bytes instead of 151, encoded
    in 0.08 µs and decoded in 0.31 instead of 0.52 and 1.33), and is not tracked by the cyclic
    collector (`gc=False`: it holds strings, numbers and its `fields` dict, never a cycle).
    Frozen and compared field by field, as before; `msgspec.structs.replace` copies one.
    """

    sensor: str
    kind: Kind
    grid: str
    community: str
    ts_ns: int
    fields: dict[str, float]
    seq: int | None = None
    hub_timed: bool = False


@dataclass(frozen=True, slots=True)
class Rejection:
    """Input that did not become a Measurement, with enough context to find the culprit."""

    reason: RejectReason
    topic: str
    received_at_ns: int
    detail: str
    sensor: str | None = None
    payload_head: str = ""
    metric: str | None = None


@dataclass(slots=True)
class Outcome:
    """What one MQTT message turned into: the readings to store and what was refused."""

    measurements: list[Measurement] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
