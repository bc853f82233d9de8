"""The trends router over HTTP: roles and grid scoping, 404/422/503 mapping, and the JSON shape,
against a real InfluxDB. The hub is a stand-in carrying only what these routes use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from adapters.influx.query import InfluxQuery
from domain.site import Registry
from services.api import errors
from services.api.deps import get_hub
from services.api.routes.trends import router
from services.auth.principal import Principal, Role
from services.trends.service import Trends
from tests.services.trends.conftest import Write, line

NS = 10**9
T0 = 1_709_481_600 * NS  # 2024-03-04 00:00 Asia/Shanghai
TOKENS = {
    "crew1": Principal("李明", Role.CREW, frozenset({"qp-g1"})),
    "officer": Principal("officer", Role.OFFICER),
}


class _Tokens:
    def verify(self, token: str) -> Principal | None:
        return TOKENS.get(token)


@dataclass
class _Hub:
    registry: Registry
    trends: Trends | None
    tokens: _Tokens


def _client(hub: _Hub) -> httpx.AsyncClient:
    app = FastAPI()
    errors.install(app)  # as create_app does: the routes raise, api/errors.py answers
    app.include_router(router, prefix="/api/v1")
    app.dependency_overrides[get_hub] = lambda: hub
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


@pytest.fixture
async def api(
    influx: InfluxQuery, write: Write, registry: Registry
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the trends routes, data in place, the clock at T0 + 1 day."""
    await write(
        [
            line("water", s, T0 + i * 60 * NS, chlorine=0.3)
            for s in ("tap-1", "tank-1")
            for i in range(10)
        ]
    )
    await write([line("pond", "pond-a", T0 + 3600 * NS, do=1.0, orp=100, nh3n=1, transparency=50)])
    await write(
        [line("power", "tx-1", T0 + i * 60 * NS, voltage=v) for i, v in enumerate([220, 240])]
    )
    trends = await Trends.start(influx, raw_duration="INF")
    trends.clock = lambda: T0 + 86_400 * NS
    async with _client(_Hub(registry, trends, _Tokens())) as c:
        yield c


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_series_json_with_site_local_times(api: httpx.AsyncClient) -> None:
    r = await api.get(
        "/api/v1/series",
        params={
            "sensor": "tap-1",
            "metric": "chlorine",
            "start": "2024-03-04T00:00:00",
            "every": "5m",
            "agg": "count",
        },
        headers=_auth("crew1"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "raw"
    assert body["points"] == [
        {"t": "2024-03-04T00:00:00+08:00", "v": 5.0},
        {"t": "2024-03-04T00:05:00+08:00", "v": 5.0},
    ]


async def test_crews_see_only_their_grid_and_no_indicators(api: httpx.AsyncClient) -> None:
    other = await api.get(
        "/api/v1/series", params={"sensor": "tank-1", "metric": "chlorine"}, headers=_auth("crew1")
    )
    assert other.status_code == 404
    assert (await api.get("/api/v1/indicators/chlorine", headers=_auth("crew1"))).status_code == 403
    assert (await api.get("/api/v1/indicators/chlorine")).status_code == 401
    assert (await api.get("/api/v1/indicators/chlorine", headers=_auth("nope"))).status_code == 401


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({"start": "2014-03-04T00:00:00", "every": "1s"}, 422, "5000"),
        ({"every": "1y"}, 422, "every"),
        ({"agg": "median"}, 422, "agg"),
        ({"metric": "do"}, 404, "no metric"),
        ({"start": "2024-03-05T00:00:00", "stop": "2024-03-04T00:00:00"}, 422, "after start"),
    ],
)
async def test_refused_requests(
    api: httpx.AsyncClient, params: dict[str, str], code: int, words: str
) -> None:
    q = {"sensor": "tap-1", "metric": "chlorine", **params}
    r = await api.get("/api/v1/series", params=q, headers=_auth("officer"))
    assert r.status_code == code
    assert words in str(r.json()["detail"])


async def test_pond_status_and_indicators(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/ponds/pond-a/status", headers=_auth("officer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["now"]["grade"] == "light"
    assert body["now"]["grade_zh"] == "轻度黑臭"
    assert body["days"] == [
        {
            "day": "2024-03-04",
            "grade": "light",
            "grade_zh": "轻度黑臭",
            "water_class": "劣V",
            "means": {"transparency": 50.0, "do": 1.0, "orp": 100.0, "nh3n": 1.0},
        }
    ]
    volt = (await api.get("/api/v1/indicators/voltage", headers=_auth("officer"))).json()
    assert volt == [
        {
            "sensor": "tx-1",
            "asset": "1号箱变",
            "qualified": {"inside": 1, "total": 2, "ratio": 0.5},
            "outage_readings": 0,
        }
    ]
    for path in ("ponds", "sewer-events", "chlorine", "night-flow", "completeness"):
        r = await api.get(f"/api/v1/indicators/{path}", headers=_auth("officer"))
        assert r.status_code == 200, (path, r.text)
    cal = (await api.get("/api/v1/indicators/ponds", headers=_auth("officer"))).json()
    assert cal[0]["days_per_class"] == {"劣V": 1}


async def test_without_influxdb_trends_are_unavailable(registry: Registry) -> None:
    async with _client(_Hub(registry, None, _Tokens())) as c:
        r = await c.get(
            "/api/v1/series",
            params={"sensor": "tap-1", "metric": "chlorine"},
            headers=_auth("officer"),
        )
    assert r.status_code == 503


@pytest.mark.parametrize(
    "start",
    ["2024-03-04T00:00:00", "2024-03-03T16:00:00Z", "2024-03-04T00:00:00+08:00", "1709481600"],
)
async def test_one_instant_however_written(api: httpx.AsyncClient, start: str) -> None:
    """Zone-less (site-local), Z, +08:00 and Unix seconds: the same window, the same points."""
    params = {"sensor": "tap-1", "metric": "chlorine", "start": start, "stop": "1709482200"}
    r = await api.get(
        "/api/v1/series", params={**params, "every": "5m", "agg": "count"}, headers=_auth("officer")
    )
    assert r.status_code == 200, r.text
    assert r.json()["points"] == [
        {"t": "2024-03-04T00:00:00+08:00", "v": 5.0},
        {"t": "2024-03-04T00:05:00+08:00", "v": 5.0},
    ]


@pytest.mark.parametrize(
    ("path", "start", "limit"),
    [
        ("chlorine", "2023-03-04T00:00:00", "366"),
        ("voltage", "2023-03-04T00:00:00", "366"),
        ("completeness", "2013-01-01T00:00:00", "3700"),
        ("night-flow", "2023-01-01T00:00:00", "400"),
        ("sewer-events", "2013-01-01T00:00:00", "3700"),
        ("ponds", "2013-01-01T00:00:00", "3700"),
    ],
)
async def test_indicator_ranges_are_bounded(
    api: httpx.AsyncClient, path: str, start: str, limit: str
) -> None:
    """Past its bound an indicator is 422 naming `start`, before any query runs."""
    r = await api.get(
        f"/api/v1/indicators/{path}",
        params={"start": start, "stop": "2024-03-05T00:00:00"},
        headers=_auth("officer"),
    )
    assert r.status_code == 422, r.text
    [problem] = r.json()["detail"]
    assert problem["loc"] == ["query", "start"]
    assert limit in problem["msg"]


async def test_indicators_scope_by_grid_and_refuse_unknown_ones(api: httpx.AsyncClient) -> None:
    h = _auth("officer")
    r = await api.get("/api/v1/indicators/chlorine", params={"grid": "qp-g2"}, headers=h)
    assert [row["sensor"] for row in r.json()] == ["tank-1"]
    r = await api.get("/api/v1/indicators/chlorine", params={"community": "nowhere"}, headers=h)
    assert r.status_code == 404
    assert r.json() == {"detail": "no community 'nowhere' in the registry"}
