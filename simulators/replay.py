"""Real data played back as one metric of one sensor: a CSV of (timestamp, value) rows, e.g.
the hourly pipeline flow that the `river` package ships (`water-flow.csv`, L/s).

Timestamps are RFC 3339 (with offset; naive ones are read as UTC) or epoch seconds. Values in a
unit other than the catalog's are converted with domain.units for JSON payloads; SenML payloads
send the source's own value and unit, as a device configured that way would.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from domain import topics
from domain.catalog import CATALOG
from domain.site import Sensor
from domain.units import UnitError, convert
from simulators.device import Emission
from simulators.payload import Encoding, SimReading, encode_reading, encode_senml


class ReplayError(ValueError):
    """A CSV that cannot be replayed; the message names the file and line."""


def _instant(text: str) -> float:
    s = text.strip()
    try:
        return float(s)
    except ValueError:
        pass
    dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def read_series(path: str | Path) -> list[tuple[float, float]]:
    """(epoch seconds, value) rows in file order; a header line is skipped."""
    p = Path(path)
    rows: list[tuple[float, float]] = []
    try:
        with p.open(encoding="utf-8", newline="") as fh:
            for lineno, rec in enumerate(csv.reader(fh), start=1):
                if not rec or not "".join(rec).strip():
                    continue
                if len(rec) < 2:
                    raise ReplayError(f"{p}:{lineno}: expected 'timestamp,value'")
                try:
                    t, v = _instant(rec[0]), float(rec[1])
                except ValueError as e:
                    if lineno == 1:
                        continue  # the header
                    raise ReplayError(f"{p}:{lineno}: {e}") from None
                if not math.isfinite(v):
                    raise ReplayError(f"{p}:{lineno}: value {rec[1]!r} is not a number")
                rows.append((t, v))
    except OSError as e:
        raise ReplayError(f"{p}: cannot read: {e.strerror}") from e
    return rows


@dataclass
class ReplayDevice:
    """Plays `rows` as `metric` of `sensor`, one reading per row, at the row's own time
    (moved by `offset` seconds)."""

    sensor: Sensor
    metric: str
    rows: list[tuple[float, float]]
    unit: str = ""
    offset: float = 0.0
    encoding: Encoding = Encoding.READING
    prefix: str = topics.DEFAULT_PREFIX

    def __post_init__(self) -> None:
        target = CATALOG[self.sensor.kind][self.metric].unit
        if self.unit:
            try:
                convert(1.0, self.unit, target)
            except UnitError as e:
                raise ReplayError(f"replay of {self.sensor.id}.{self.metric}: {e}") from None
        self._target = target
        self.topic = topics.telemetry(self.sensor.kind, self.sensor.id, self.prefix)

    def emissions(self, start: float, until: float, origin: float) -> Iterator[Emission]:
        sid = self.sensor.id
        for seq, (t0, value) in enumerate(self.rows, start=1):
            t = t0 + self.offset
            if not start <= t < until:
                continue
            unit = self.unit or self._target
            r = SimReading(
                sid, self.sensor.kind, t, t, {self.metric: convert(value, unit, self._target)}, seq
            )
            if self.encoding is Encoding.SENML:
                r.raw[self.metric] = (value, unit)
                payload = encode_senml(r)
            else:
                payload = encode_reading(r)
            yield Emission(t, self.topic, payload, sid, 1)
