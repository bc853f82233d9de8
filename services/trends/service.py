"""The trends service the API holds: one open InfluxQuery and the retention layout, with the
registry passed per call (an admin may replace it at run time) and an injectable clock that
callers read once per request, into `TrendQuery.now_ns`.

An indicator over a community, grid or the whole site selects its sensors by where they were
during the period asked (services.trends.scope): `period` reads the placements overlapping it
once per request from the registry's tables (`registry_store`, set by the API once the
registry is attached); without them, the current registry decides."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.influx.query import InfluxQuery
from adapters.influx.retention import Layout, ensure_retention
from domain.catalog import Kind
from domain.duration import Retention
from domain.site import Registry
from services.registry.placements import Tenure
from services.registry.store import RegistryStore
from services.trends.calendar import PondCalendar, pond_calendars
from services.trends.completeness import Completeness, completeness
from services.trends.ponds import PondStatus, pond_status
from services.trends.power import VoltageQualification, voltage_qualification
from services.trends.query import TrendQuery
from services.trends.scope import load_history
from services.trends.series import SeriesResult, plan_series, run_series
from services.trends.sewer import Episode, SewerWeek, sewer_events
from services.trends.store import TrendStore
from services.trends.water import ChlorineCompliance, NightFlow, chlorine_compliance, night_flow


@dataclass(slots=True)
class Trends:
    influx: InfluxQuery
    layout: Layout = field(default_factory=Layout)
    clock: Callable[[], int] = field(default=time.time_ns)
    registry_store: RegistryStore | None = None
    """Where the sensors' placement intervals are read; None: the current registry decides."""

    @classmethod
    async def start(
        cls,
        influx: InfluxQuery,
        raw_duration: Retention | str = "INF",
        rollup_duration: Retention | str = "1040w",
    ) -> Trends:
        """Set up retention and rollups (idempotent) and return a service using them."""
        layout = await ensure_retention(influx, influx.db, raw_duration, rollup_duration)
        return cls(influx, layout)

    def retired(self, registry: Registry, sensor: str) -> Tenure | None:
        """A retired sensor's last placement (its data stays queryable by the grid and kind
        it had); None for any other sensor or without the registry's tables."""
        if self.registry_store is None or not registry.is_retired(sensor):
            return None
        return self.registry_store.last_tenure(sensor)

    def store(self, registry: Registry) -> TrendStore:
        """A store without placement history: for one named sensor (series, pond status)."""
        return TrendStore(self.influx, self.layout, registry)

    async def period(
        self, registry: Registry, q: TrendQuery, source: RegistryStore | None = None
    ) -> TrendStore:
        """The store for indicators over `q`'s period, with the placements overlapping it
        read once (from `source`, else `registry_store`)."""
        history = await load_history(source or self.registry_store, registry, q.start_ns, q.stop_ns)
        return TrendStore(self.influx, self.layout, registry, history)

    async def series(
        self, registry: Registry, q: TrendQuery, metric: str, every_s: int, agg: str
    ) -> SeriesResult:
        past = None
        if q.sensor is not None and registry.get(q.sensor) is None:
            past = await asyncio.to_thread(self.retired, registry, q.sensor)
        kind = Kind(past.kind) if past is not None else None
        plan = plan_series(registry, self.layout, q, metric, every_s, agg, kind)
        return await run_series(self.influx, plan)

    async def pond(self, registry: Registry, q: TrendQuery) -> PondStatus:
        return await pond_status(self.store(registry), q)

    async def pond_calendars(self, registry: Registry, q: TrendQuery) -> list[PondCalendar]:
        return await pond_calendars(await self.period(registry, q), q)

    async def sewer_events(
        self, registry: Registry, q: TrendQuery
    ) -> tuple[list[Episode], list[SewerWeek]]:
        return await sewer_events(await self.period(registry, q), q)

    async def chlorine(self, registry: Registry, q: TrendQuery) -> list[ChlorineCompliance]:
        return await chlorine_compliance(await self.period(registry, q), q)

    async def night_flow(self, registry: Registry, q: TrendQuery) -> list[NightFlow]:
        return await night_flow(await self.period(registry, q), q)

    async def voltage(self, registry: Registry, q: TrendQuery) -> list[VoltageQualification]:
        return await voltage_qualification(await self.period(registry, q), q)

    async def completeness(
        self, registry: Registry, q: TrendQuery
    ) -> tuple[list[Completeness], list[Completeness]]:
        return await completeness(await self.period(registry, q), q)
