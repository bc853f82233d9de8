"""API callers never read InfluxDB's error text or its address (issue 11): a refused query and a
failing server each get the fixed sentence of their status, and the detail goes to the log —
without the credentials the configured address carried.

Through the real trends route, service and InfluxQL client: once against a real InfluxDB that
refuses the query (its database is gone), once against a real HTTP server that answers 500 with
a body full of secrets."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi import FastAPI

from adapters.influx.query import InfluxQuery
from domain.site import Registry, parse_site
from services.api import errors
from services.api.deps import get_hub
from services.api.routes.trends import router
from services.auth.principal import Principal, Role
from services.trends.service import Trends
from tests.harness import InfluxDB
from tests.services.trends.conftest import SITE

SECRET_BODY = '{"error":"secret-token-7f3a internal at /var/lib/influxdb/data: stack trace"}'
PASSWORD = "pw-hunter2-s3cret"


class _Tokens:
    def verify(self, token: str) -> Principal | None:
        return Principal("officer", Role.OFFICER) if token == "officer" else None


@dataclass
class _Hub:
    registry: Registry
    trends: Trends | None
    tokens: _Tokens


def _api(trends: Trends) -> httpx.AsyncClient:
    app = FastAPI()
    errors.install(app)
    app.include_router(router, prefix="/api/v1")
    app.dependency_overrides[get_hub] = lambda: _Hub(Registry(parse_site(SITE)), trends, _Tokens())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


async def _series(trends: Trends) -> httpx.Response:
    async with _api(trends) as api:
        return await api.get(
            "/api/v1/series",
            params={"sensor": "tap-1", "metric": "chlorine"},
            headers={"Authorization": "Bearer officer"},
        )


@pytest.fixture
def failing_server() -> Iterator[str]:
    """A real HTTP server on a free port that answers every request 500 with SECRET_BODY."""

    class Handler(BaseHTTPRequestHandler):
        def _fail(self) -> None:
            body = SECRET_BODY.encode()
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _fail

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_a_refused_query_is_a_plain_502(
    influxdb: InfluxDB, influx_db: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with InfluxQuery(influxdb.url, influx_db) as influx:
        trends = await Trends.start(influx)
        await influx.query(f'DROP DATABASE "{influx_db}"', db="")
        r = await _series(trends)
    assert r.status_code == 502
    assert r.json() == {"detail": "InfluxDB could not answer this request"}
    for leak in (influxdb.url, "127.0.0.1", "database not found", influx_db, "SELECT"):
        assert leak not in r.text
    logged = [m for m in caplog.messages if "answered 502" in m]
    assert len(logged) == 1
    assert "database not found" in logged[0]


async def test_a_failing_server_is_a_plain_503_and_its_credentials_stay_out_of_the_log(
    failing_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    host = failing_server.removeprefix("http://")
    for url, user, password in (
        (f"http://reader:{PASSWORD}@{host}", None, None),
        (f"{failing_server}/?u=reader&p={PASSWORD}", None, None),
        (failing_server, "reader", PASSWORD),
    ):
        async with InfluxQuery(url, "gridwatch", user=user, password=password) as influx:
            r = await _series(Trends(influx))
        assert r.status_code == 503
        assert r.json() == {"detail": "InfluxDB is unavailable; try again later"}
        for leak in (host, "secret-token", "/var/lib/influxdb", PASSWORD, "reader"):
            assert leak not in r.text
    logged = [m for m in caplog.messages if "answered 503" in m]
    assert len(logged) == 3
    assert all("secret-token-7f3a" in m for m in logged)  # the operator sees InfluxDB's words
    assert PASSWORD not in caplog.text
