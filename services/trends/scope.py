"""Which sensors an indicator covers, and over which part of the period: all of one kind, or
those of the query's community or grid cell, each while it was there.

A sensor's grid and community hold for the intervals the registry records in
`sensor_placements` ([valid_from, valid_to), hub clock; written with every registry change).
A trend of [start, stop) over a community or grid takes the sensors whose interval there
overlaps the period, each over the overlapping part only: a sensor moved from grid A to B on
day 10 counts for A until the move and for B from it, a retired sensor for as long as it was
live, one added on day 10 from day 10. `History` is those intervals for one period, read once
per request (`load_history`); without a database — or with one that holds no registry, as
when a test or embedder builds a `Registry` only — the current registry is taken as always
true, which is what the trends did before placements were recorded.

An indicator reads InfluxDB per `Batch`: the sensors that share one window [start, stop). For
sensors that never moved, that is one batch over the query's window, the same statement as
ever; a mover's parts add a statement per distinct window, sent in the same request (`read`).

Every id that reaches a query comes from here, i.e. from the registry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from adapters.influx.query import InfluxQuery, Series
from domain.catalog import Kind
from domain.site import Registry
from services.registry.placements import Tenure
from services.registry.store import RegistryStore
from services.trends.errors import UnknownSeries
from services.trends.query import TrendQuery


class Stay(NamedTuple):
    """A sensor's time in one grid cell, clipped to the period asked (ordered by time)."""

    start_ns: int
    stop_ns: int
    grid: str
    community: str


class Member(NamedTuple):
    """A sensor an indicator covers (its kind, asset and interval as the registry last knew
    them) and its stays in the scope, oldest first. Tuples, not frozen dataclasses: a
    site-wide request builds one per sensor, and their construction was a third of the cost."""

    id: str
    kind: Kind
    asset: str
    interval_s: int
    stays: tuple[Stay, ...]

    @property
    def windows(self) -> list[tuple[int, int]]:
        """The stays joined where one ends as the next begins (a move inside the scope)."""
        out: list[tuple[int, int]] = []
        for s in self.stays:
            if out and s.start_ns <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], s.stop_ns))
            else:
                out.append((s.start_ns, s.stop_ns))
        return out


class History:
    """Where each sensor was, when, for one period: the placement intervals overlapping it,
    in the registry's sensor order; and which communities and grid cells a scope may name
    (today's, and those that held a sensor during the period)."""

    __slots__ = ("communities", "grids", "tenures")

    def __init__(self, tenures: Sequence[Tenure], registry: Registry) -> None:
        self.tenures = tenures
        self.communities = set(registry.communities) | {t.community for t in tenures}
        self.grids = set(registry.grids) | {t.grid for t in tenures}

    @classmethod
    def current(cls, registry: Registry) -> History:
        """The current registry as if it had always been so."""
        return cls(
            [
                Tenure(
                    p.sensor.id,
                    p.sensor.kind,  # a StrEnum, so its value (Enum.value is slow at 30,000)
                    p.sensor.asset,
                    p.sensor.interval_s,
                    p.grid.id,
                    p.community.id,
                    0,
                    None,
                )
                for p in registry.placements.values()
            ],
            registry,
        )


async def load_history(
    source: RegistryStore | None, registry: Registry, start_ns: int, stop_ns: int
) -> History:
    """The placements overlapping [start, stop) from the database (one read, in a worker
    thread); the current registry when there is no database or it holds no registry."""
    if source is None:
        return History.current(registry)
    tenures = await asyncio.to_thread(source.tenures, start_ns, stop_ns)
    if tenures is None:
        return History.current(registry)
    return History(tenures, registry)


def sensors_in(history: History, kind: Kind | None, q: TrendQuery) -> list[Member]:
    """The sensors of `kind` (None: every kind) in the query's community and grid cell during
    [start, stop), each with its stays there clipped to the window."""
    if q.community is not None and q.community not in history.communities:
        raise UnknownSeries(f"no community {q.community!r} in the registry", field="community")
    if q.grid is not None and q.grid not in history.grids:
        raise UnknownSeries(f"no grid {q.grid!r} in the registry", field="grid")
    stays: dict[str, list[Stay]] = {}
    first: dict[str, Tenure] = {}
    for t in history.tenures:
        if (
            (kind is not None and t.kind != kind)
            or (q.community is not None and t.community != q.community)
            or (q.grid is not None and t.grid != q.grid)
        ):
            continue
        start = max(q.start_ns, t.valid_from_ns)
        stop = q.stop_ns if t.valid_to_ns is None else min(q.stop_ns, t.valid_to_ns)
        if start >= stop:
            continue
        first.setdefault(t.sensor, t)
        stays.setdefault(t.sensor, []).append(Stay(start, stop, t.grid, t.community))
    return [
        Member(sid, _KINDS[t.kind], t.asset, t.interval_s, tuple(sorted(stays[sid])))
        for sid, t in first.items()
    ]


_KINDS = {k.value: k for k in Kind}


@dataclass(frozen=True, slots=True)
class Batch:
    """Sensors read over the same [start, stop): one statement."""

    start_ns: int
    stop_ns: int
    sensors: tuple[str, ...]


def batches(members: Iterable[Member], *, per_stay: bool = False) -> list[Batch]:
    """The members' windows (or, `per_stay`, each stay apart: for figures kept per grid
    cell) grouped by window, earliest first; the sensors of a batch in the members' order."""
    groups: dict[tuple[int, int], list[str]] = {}
    for m in members:
        spans = [(s.start_ns, s.stop_ns) for s in m.stays] if per_stay else m.windows
        for w in spans:
            groups.setdefault(w, []).append(m.id)
    return [Batch(a, b, tuple(ids)) for (a, b), ids in sorted(groups.items())]


async def read(
    influx: InfluxQuery, statements: Sequence[tuple[Batch, str]]
) -> list[tuple[int, Batch, Series]]:
    """Run the statements (each grouped by "sensor", over its batch) in one request: every
    series with its statement's index and batch, keeping only the batch's own sensors (past
    `daily.ENUMERATE_MAX` ids a statement reads every sensor of the kind)."""
    if not statements:
        return []
    wanted = [frozenset(b.sensors) for b, _ in statements]
    out: list[tuple[int, Batch, Series]] = []
    for s in await influx.query("; ".join(text for _, text in statements)):
        if s.tags.get("sensor", "") in wanted[s.statement]:
            out.append((s.statement, statements[s.statement][0], s))
    return out
