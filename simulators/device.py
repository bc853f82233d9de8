"""One simulated device: samples its model on its own schedule, lets its faults bend the
values, the clock and the delivery, and turns the result into MQTT messages with due times.

A device is a generator of `Emission`s in due-time order; the simulation merges all devices.
Everything random comes from the device's own streams, seeded from (seed, sensor id), so one
sensor's output does not depend on which other sensors run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from domain import topics
from domain.catalog import Kind
from simulators.faults import (
    Y2000,
    Battery,
    ClockSkew,
    Drift,
    Dropout,
    Duplicate,
    Fault,
    Malformed,
    OutOfOrder,
    SeqReset,
    Spike,
    Stuck,
    Submerged,
)
from simulators.models.base import KindModel
from simulators.payload import (
    Encoding,
    SimReading,
    encode_batch,
    encode_reading,
    encode_senml,
)

FAST_INTERVAL_S = 120.0
"""How often a level logger reports in rain or above its warning level (domain.md §3)."""
MAX_BATCH = 1000
_RSSI = {Kind.POND: -75.0, Kind.WATER: -82.0, Kind.POWER: -70.0, Kind.SEWER: -96.0}


@dataclass(frozen=True, slots=True)
class Emission:
    """One MQTT message due at simulated time `due`. `readings` counts what it carries."""

    due: float
    topic: str
    payload: bytes
    sensor: str
    readings: int = 0
    retain: bool = False


class Device:
    def __init__(
        self,
        model: KindModel,
        *,
        seed: int,
        faults: list[Fault],
        encoding: Encoding,
        prefix: str = topics.DEFAULT_PREFIX,
        batch_size: int = 3,
    ) -> None:
        self.model = model
        self.sensor = model.sensor
        self.faults = [f for f in faults if f.sensor == self.sensor.id]
        self.encoding = encoding
        self.batch_size = batch_size
        self.topic = topics.telemetry(self.sensor.kind, self.sensor.id, prefix)
        self.status_topic = topics.status(self.sensor.kind, self.sensor.id, prefix)
        self.fault_rng = random.Random(f"{seed}:{self.sensor.id}:faults")
        self.mains = self.sensor.kind is Kind.POWER
        self._stuck: dict[str, float] = {}
        self._ema: dict[str, float] = {}
        self._spiked = False  # a spike is one sample: never two in a row

    # ------------------------------------------------------------------ sampling
    def _values(self, t: float, rel: float) -> dict[str, float]:
        values = self.model.sample(t)
        if not self.faults:
            return values
        interval = float(self.sensor.interval_s)
        for f in self.faults:
            if isinstance(f, Drift) and f.metric in values:
                v = values[f.metric]
                mean = self._ema.get(f.metric, v)
                self._ema[f.metric] = mean + (v - mean) * min(1.0, interval / 86_400.0)
                if f.active(rel):
                    d = f.days_in(rel)
                    keep = max(0.0, 1.0 - f.swing_loss_per_day * d)
                    values[f.metric] = self.model.finish(
                        f.metric, mean + (v - mean) * keep + f.per_day * d
                    )
            elif isinstance(f, Spike) and f.metric in values and f.active(rel):
                spiked, self._spiked = self._spiked, False
                if not spiked and self.fault_rng.random() < interval / f.every:
                    values[f.metric] = self.model.finish(f.metric, values[f.metric] + f.size)
                    self._spiked = True
            elif isinstance(f, Submerged) and f.active(rel) and values.get("fill", 0.0) >= 1.0:
                values["fill"] = 0.0
                values["freeboard"] = self.model.finish(
                    "freeboard", getattr(self.model, "depth", 3.0)
                )
        for f in self.faults:
            if isinstance(f, Stuck):
                names = f.metrics or list(values)
                if f.active(rel):
                    for n in names:
                        if n in values:
                            values[n] = self._stuck.setdefault(n, values[n])
                else:
                    self._stuck.clear()
        return values

    def _stamp(self, t: float, rel: float) -> float:
        if not self.faults:
            return t
        for f in self.faults:
            if isinstance(f, ClockSkew) and f.active(rel):
                return Y2000 + (rel - f.at) if f.to == "y2000" else t + f.ahead
        return t

    def _battery(self, rel: float) -> float | None:
        if self.mains:
            return None
        v = 3.6 + self.model.noise(0.005)
        for f in self.faults:
            if isinstance(f, Battery) and f.active(rel):
                v = f.volts(rel) + self.model.noise(0.005)
        return round(max(0.0, v), 2)

    def _active(self, cls: type, rel: float) -> Fault | None:
        if not self.faults:
            return None
        for f in self.faults:
            if isinstance(f, cls) and f.active(rel):
                return f
        return None

    # ------------------------------------------------------------------ delivery
    def _encode(self, readings: list[SimReading]) -> list[bytes]:
        if self.encoding is Encoding.SENML:
            return [encode_senml(r) for r in readings]
        if len(readings) == 1 and self.encoding is Encoding.READING:
            return [encode_reading(readings[0])]
        return [
            encode_batch(readings[i : i + MAX_BATCH]) for i in range(0, len(readings), MAX_BATCH)
        ]

    def _garble(self, payload: bytes, rel: float) -> bytes:
        kind = self.fault_rng.randrange(4)
        if kind == 0:
            return payload[: max(1, len(payload) // 2)]
        if kind == 1:
            return b"\xff\xfe\x00ERR 0x3F sensor fault"
        if kind == 2:
            return b'{"ts": "yesterday", "values": "E-07"}'
        return b"[" * 3

    def emissions(self, start: float, until: float, origin: float) -> Iterator[Emission]:
        """Messages from `start` until `until` (epoch s); `origin` is the scenario start."""
        interval = float(self.sensor.interval_s)
        phase = float(random.Random(f"phase:{self.sensor.id}").randrange(int(interval)))
        t = start + phase
        seq = 0
        sid = self.sensor.id
        yield Emission(start, self.status_topic, b"online", sid, retain=True)
        buffered: list[SimReading] = []
        cache: list[SimReading] = []
        offline = False
        held: Emission | None = None
        rssi = _RSSI[self.sensor.kind]
        while t < until:
            rel = t - origin
            values = self._values(t, rel)
            for f in self.faults:
                if isinstance(f, SeqReset) and f.at <= rel < f.at + interval:
                    seq = 0
            seq += 1
            reading = SimReading(
                sid,
                self.sensor.kind,
                t,
                self._stamp(t, rel),
                values,
                seq,
                self._battery(rel),
                round(rssi + self.model.noise(4.0)),
            )
            drop = self._active(Dropout, rel)
            if drop is not None:
                if not offline:
                    offline = True
                    yield Emission(t, self.status_topic, b"offline", sid, retain=True)
                if isinstance(drop, Dropout) and drop.cached:
                    cache.append(reading)
            else:
                if offline:
                    offline = False
                    yield Emission(t, self.status_topic, b"online", sid, retain=True)
                    for i in range(0, len(cache), MAX_BATCH):
                        part = cache[i : i + MAX_BATCH]
                        yield Emission(t, self.topic, encode_batch(part), sid, len(part))
                    cache = []
                buffered.append(reading)
                if self.encoding is not Encoding.BATCH or len(buffered) >= self.batch_size:
                    for payload in self._encode(buffered):
                        n = len(buffered) if self.encoding is not Encoding.SENML else 1
                        out = self._deliver(Emission(t, self.topic, payload, sid, n), rel)
                        for e in out:
                            if held is not None:
                                yield e
                                yield Emission(e.due, held.topic, held.payload, sid, held.readings)
                                held = None
                            elif self._roll(OutOfOrder, rel):
                                held = e
                            else:
                                yield e
                    buffered = []
            step = interval
            if self.model.fast(values):
                step = min(interval, FAST_INTERVAL_S)
            t += step
        for payload in self._encode(buffered) if buffered else []:
            yield Emission(t, self.topic, payload, sid, len(buffered))
        if held is not None:
            yield Emission(t, held.topic, held.payload, sid, held.readings)

    def _roll(self, cls: type, rel: float) -> bool:
        if not self.faults:
            return False
        f = self._active(cls, rel)
        probability = getattr(f, "probability", 0.0)
        return f is not None and self.fault_rng.random() < probability

    def _deliver(self, e: Emission, rel: float) -> list[Emission]:
        if self._roll(Malformed, rel):
            return [Emission(e.due, e.topic, self._garble(e.payload, rel), e.sensor, 0)]
        if self._roll(Duplicate, rel):
            return [e, e]
        return [e]
