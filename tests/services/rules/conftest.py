"""A small two-community site and helpers to feed the engine event-time series."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from sqlalchemy import delete

from domain.breach import Breach, Change
from domain.catalog import Kind
from domain.measurement import Measurement
from domain.site import Registry, parse_site
from services.db.engine import open_database
from services.db.models import RuleState
from services.db.rule_state import SqlRuleStateStore
from services.rules import MemoryRuleStateStore, RuleBook, RuleEngine, load_rules
from services.rules.state import RuleStateStore

NS = 1_000_000_000
T0 = 1_750_000_000 * NS  # 2025-06-15T15:06:40Z, a fixed event-time origin
MIN = 60 * NS
HOUR = 60 * MIN

SENSORS = {
    "pond-01": "pond",
    "water-01": "water",
    "power-01": "power",
    "sewer-01": "sewer",
}


def _site() -> dict[str, Any]:
    worker = {"id": "wang-wu", "name": "王五"}
    boss = {"id": "li-si", "name": "李四"}
    sensors = [
        {"id": sid, "kind": kind, "grid": "qp-g1", "interval_s": 60}
        for sid, kind in SENSORS.items()
    ]
    sensors += [
        {"id": f"hs-{i:02d}", "kind": "water", "grid": "hs-g1", "interval_s": 60} for i in range(5)
    ]
    return {
        "timezone": "Asia/Shanghai",
        "communities": [
            {
                "id": "qingping",
                "name": "清平社区",
                "supervisor": boss,
                "grids": [{"id": "qp-g1", "name": "清平1号网格", "worker": worker}],
            },
            {
                "id": "huashan",
                "name": "华山社区",
                "supervisor": boss,
                "grids": [{"id": "hs-g1", "name": "华山1号网格", "worker": worker}],
            },
        ],
        "sensors": sensors,
    }


@pytest.fixture(scope="session")
def registry() -> Registry:
    """Two communities: qingping (one sensor of each kind), huashan (five water sensors)."""
    return Registry(parse_site(_site()))


@pytest.fixture(scope="session")
def book(registry: Registry) -> RuleBook:
    """The shipped default rules."""
    return load_rules(registry=registry)


@pytest.fixture
def make_engine(book: RuleBook, registry: Registry) -> Callable[..., RuleEngine]:
    """Build an engine on the default rules, started at T0 unless told otherwise."""

    def make(**kw: Any) -> RuleEngine:
        kw.setdefault("started_ns", T0)
        return RuleEngine(kw.pop("book", book), registry, **kw)

    return make


def reading(sensor: str, ts: int, **fields: float) -> Measurement:
    kind = Kind(SENSORS.get(sensor, "water"))
    community = "huashan" if sensor.startswith("hs-") else "qingping"
    return Measurement(sensor, kind, "g", community, ts, dict(fields))


def feed(
    engine: RuleEngine, sensor: str, series: Iterable[tuple[int, dict[str, float]]]
) -> list[Breach]:
    """Evaluate (event time ns, fields) readings in the order given; all breaches."""
    out: list[Breach] = []
    for ts, fields in series:
        out.extend(engine.evaluate(reading(sensor, ts, **fields)))
    return out


def changes(breaches: Iterable[Breach], rule: str | None = None) -> list[Change]:
    """The non-HOLDING changes, optionally of one rule: what opens, escalates or clears."""
    return [
        b.change
        for b in breaches
        if b.change is not Change.HOLDING and (rule is None or b.rule == rule)
    ]


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def new_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], RuleStateStore]]:
    """Empty rule-state stores for the restart tests: each test runs on the in-memory store
    and on the SQL one the hub uses (a SQLite file), so a restart judges exactly as before
    through the real encoding and the real load."""
    if request.param == "memory":
        yield MemoryRuleStateStore
        return
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('rule-state') / 'state.db'}")

    def fresh() -> RuleStateStore:
        with engine.begin() as c:
            c.execute(delete(RuleState))
        return SqlRuleStateStore(engine)

    yield fresh
    engine.dispose()
