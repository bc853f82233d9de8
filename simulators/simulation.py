"""A whole simulated site: one device per sensor (model + faults + encoding), merged into one
stream of MQTT messages in due-time order. Same site, scenario, start and seed → the same
messages, byte for byte."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from domain import topics
from domain.catalog import Kind
from domain.site import Sensor, Site
from simulators.device import Device, Emission
from simulators.diurnal import LocalTime
from simulators.events import Event
from simulators.models import build_model
from simulators.models.base import KindModel
from simulators.models.power import is_transformer
from simulators.payload import Encoding
from simulators.replay import ReplayDevice, read_series
from simulators.scenario import Scenario


class Source(Protocol):
    def emissions(self, start: float, until: float, origin: float) -> Iterator[Emission]: ...


def default_encoding(sensor: Sensor) -> Encoding:
    """How each kind of device talks (domain.md §3): water loggers upload in batches,
    distribution-room meters speak SenML, buoys and manhole loggers send one reading at a time."""
    if sensor.kind is Kind.WATER:
        return Encoding.BATCH
    if sensor.kind is Kind.POWER and not is_transformer(sensor.id, sensor.asset):
        return Encoding.SENML
    return Encoding.READING


class Simulation:
    def __init__(
        self,
        site: Site,
        *,
        start: float,
        seed: int = 0,
        scenario: Scenario | None = None,
        prefix: str = topics.DEFAULT_PREFIX,
        sensors: Iterable[str] | None = None,
        encoding: Encoding | None = None,
        base_dir: Path | None = None,
    ) -> None:
        """`start` is the scenario's time origin (epoch s); `sensors` limits the run to some
        ids; `encoding` forces one payload form for every device; `base_dir` resolves replay
        CSV paths (the scenario file's folder)."""
        self.site = site
        self.start = start
        self.seed = seed
        self.scenario = scenario
        self.clock = LocalTime(site.tz)
        wanted = set(sensors) if sensors is not None else None
        events = list(scenario.events) if scenario else []
        faults = list(scenario.faults) if scenario else []
        overrides = dict(scenario.encodings) if scenario else {}
        replays = {r.sensor: r for r in scenario.replay} if scenario else {}
        self.sources: list[Source] = []
        for s in site.sensors:
            if wanted is not None and s.id not in wanted:
                continue
            enc = encoding or overrides.get(s.id) or default_encoding(s)
            rp = replays.get(s.id)
            if rp is not None:
                path = Path(rp.csv)
                if not path.is_absolute() and base_dir is not None:
                    path = base_dir / path
                rows = read_series(path)
                offset = start - rows[0][0] if rp.shift and rows else 0.0
                self.sources.append(ReplayDevice(s, rp.metric, rows, rp.unit, offset, enc, prefix))
                continue
            model = self.model(s, events)
            self.sources.append(
                Device(model, seed=seed, faults=faults, encoding=enc, prefix=prefix)
            )

    def model(self, sensor: Sensor, events: list[Event] | None = None) -> KindModel:
        """A fresh physics model of `sensor`, seeded from (seed, sensor id)."""
        if events is None:
            events = list(self.scenario.events) if self.scenario else []
        rng = random.Random(f"{self.seed}:{sensor.id}")
        return build_model(sensor, rng, events, self.start, self.clock)

    def emissions(self, until: float, since: float | None = None) -> Iterator[Emission]:
        """Every message due in [since, until), in due order (ties in site order)."""
        begin = self.start if since is None else since
        streams = [src.emissions(begin, until, self.start) for src in self.sources]
        return heapq.merge(*streams, key=lambda e: e.due)

    def samples(
        self, sensor_id: str, until: float, step: float | None = None
    ) -> list[tuple[float, dict[str, float]]]:
        """What a sensor's physics says (no faults, no delivery), every `step` seconds
        (its interval by default): for realism checks and expectations."""
        sensor = next(s for s in self.site.sensors if s.id == sensor_id)
        model = self.model(sensor)
        dt = float(step or sensor.interval_s)
        out: list[tuple[float, dict[str, float]]] = []
        t = self.start
        while t < until:
            out.append((t, model.sample(t)))
            t += dt
        return out
