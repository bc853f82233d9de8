"""What every request and response passes through (services.api.security): body limits and
authentication before a body is read, on a real uvicorn server; security headers on every
route's response, static files and errors included; no CDN-loading docs pages."""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.routing import Mount

from gridwatch.settings import load_settings
from services.api.app import create_app
from services.api.hub import Hub
from services.api.security import JSON_BODY_MAX, PHOTO_BODY_MAX, SECURITY_HEADERS, SecuredApp
from tests.services.api.conftest import _WithState
from tests.services.api.server import serve
from tests.services.tickets.site import registry

MIB = 1024 * 1024


@dataclass
class Live:
    host: str
    port: int
    admin: str


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    hubs: list[Hub] = []
    settings = load_settings(db_url=f"sqlite:///{tmp_path / 'gw.db'}", site="")
    app = create_app(
        settings, registry=registry(), on_start=hubs.append, tick_interval_s=0, web=False
    )
    with serve(app) as url:
        host, port = url.removeprefix("http://").split(":")
        yield Live(host, int(port), hubs[0].tokens.create("root", "admin"))


def _rss() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


def _post_big(
    live: Live, *, chunked: bool, token: str | None, total: int = 150 * MIB
) -> tuple[int, int, float]:
    """POST a `total`-byte body (declared, or chunked) until the server answers; returns the
    status, the bytes it took to get an answer and the seconds it took."""
    head = [
        "POST /api/v1/maintenance HTTP/1.1",
        f"Host: {live.host}",
        "Content-Type: application/json",
        "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}",
    ]
    if token:
        head.append(f"Authorization: Bearer {token}")
    piece = b"[" + b"1," * (MIB // 2 - 1) + b"1]"
    started = time.monotonic()
    sent = 0
    with socket.create_connection((live.host, live.port), timeout=10) as s:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        answer = b""
        while sent < total and time.monotonic() - started < 30:
            readable, writable, _ = select.select([s], [s], [], 1)
            if readable:
                break
            if writable:
                data = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
                try:
                    s.sendall(data)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(piece)
        s.settimeout(10)
        try:
            answer = s.recv(4096)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 "), f"no answer after {sent} bytes and {took:.1f} s"
    return int(answer.split()[1]), sent, took


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_body_without_a_token_is_refused_before_it_is_read(
    live: Live, chunked: bool
) -> None:
    before = _rss()
    status, sent, took = _post_big(live, chunked=chunked, token=None)
    assert status in (401, 413)
    assert took < 5
    assert sent < 20 * MIB  # answered long before the 150 MiB were sent
    assert _rss() - before < 30 * MIB


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_body_with_a_token_is_cut_off_at_the_limit(live: Live, chunked: bool) -> None:
    before = _rss()
    status, sent, took = _post_big(live, chunked=chunked, token=live.admin)
    assert status == 413
    assert took < 5
    assert sent < 20 * MIB
    assert _rss() - before < 30 * MIB


def test_a_write_is_authenticated_before_its_body_is_parsed(live: Live) -> None:
    url = f"http://{live.host}:{live.port}/api/v1/maintenance"
    broken = b'{"sensor": '  # not JSON: parsing it first would answer 422
    for headers in ({}, {"Authorization": "Bearer gw_not-a-real-token"}):
        r = httpx.post(url, content=broken, headers={"Content-Type": "application/json", **headers})
        assert r.status_code == 401, r.text
    r = httpx.post(
        url,
        content=broken,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {live.admin}"},
    )
    assert r.status_code == 422
    over = b'{"note": "' + b"x" * JSON_BODY_MAX + b'"}'
    r = httpx.post(
        url,
        content=over,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {live.admin}"},
    )
    assert r.status_code == 413


async def test_a_route_may_take_a_larger_body_than_the_json_limit() -> None:
    """The photo limit is a per-route setting (`max_body_size`) over the app's JSON limit."""
    app = SecuredApp(max_body_size=JSON_BODY_MAX)

    @app.post("/json")
    async def json_route(request: Request) -> int:
        return len(await request.body())

    @app.post("/photo", max_body_size=PHOTO_BODY_MAX)
    async def photo_route(request: Request) -> int:
        return len(await request.body())

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.post("/json", content=b"x" * JSON_BODY_MAX)).status_code == 200
        assert (await c.post("/json", content=b"x" * (JSON_BODY_MAX + 1))).status_code == 413
        assert (await c.post("/photo", content=b"x" * 5_000_000)).json() == 5_000_000
        assert (await c.post("/photo", content=b"x" * (PHOTO_BODY_MAX + 1))).status_code == 413


# -- security headers ------------------------------------------------------------------------


@pytest.fixture
async def app_client(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, str]]:
    hubs: list[Hub] = []
    settings = load_settings(db_url=f"sqlite:///{tmp_path / 'gw.db'}", site="")
    app = create_app(settings, registry=registry(), on_start=hubs.append, tick_interval_s=0)

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("a bug")

    async with (
        app.router.lifespan_context(app) as state,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(
                app=_WithState(app, dict(state or {})), raise_app_exceptions=False
            ),
            base_url="http://gridwatch.test",
        ) as client,
    ):
        yield app, client, hubs[0].tokens.create("root", "admin")


def _assert_secured(r: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, (r.request.method, r.request.url, r.status_code, name)
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


async def test_every_response_carries_the_security_headers(
    app_client: tuple[FastAPI, httpx.AsyncClient, str],
) -> None:
    app, c, token = app_client
    seen: set[int] = set()
    checked = 0
    paths = app.openapi()["paths"]
    for template, operations in paths.items():  # every documented route and method
        path = re.sub(r"\{[^}]+\}", "1", template)
        for method, op in operations.items():
            callers: list[dict[str, str]] = [{}, {"Authorization": f"Bearer {token}"}]
            if "text/event-stream" in str(op.get("responses")):  # the transport cannot stream
                callers = callers[:1]
            for headers in callers:
                r = await c.request(method.upper(), path, headers=headers)
                _assert_secured(r)
                seen.add(r.status_code)
                checked += 1
    for route in app.routes:
        if isinstance(route, Mount):
            for name in ("index.html", "js/app.js", "css/missing.css", "uPlot.min.js"):
                r = await c.get(f"{route.path}/{name}")
                _assert_secured(r)
                seen.add(r.status_code)
                checked += 1
    for path in ("/", "/nowhere", "/openapi.json", "/boom", "/docs", "/redoc"):
        r = await c.get(path)
        _assert_secured(r)
        seen.add(r.status_code)
    r = await c.request("PUT", "/")
    _assert_secured(r)
    seen.add(r.status_code)
    assert checked > 40
    assert {200, 401, 404, 405, 422, 500} <= seen


async def test_no_docs_pages_that_load_scripts_from_a_cdn(
    app_client: tuple[FastAPI, httpx.AsyncClient, str],
) -> None:
    _, c, _ = app_client
    assert (await c.get("/docs")).status_code == 404
    assert (await c.get("/redoc")).status_code == 404
    assert (await c.get("/docs/oauth2-redirect")).status_code == 404
    r = await c.get("/openapi.json")
    assert r.status_code == 200
    assert r.json()["info"]["title"] == "GridWatch"
