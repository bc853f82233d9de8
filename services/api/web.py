"""The web dashboard, served by the API process: the single-page app at `/`, its pinned
front-end libraries under `/vendor/` (installed by dashboards/web/setup.sh, never fetched at run
time), the metric catalog the page labels charts with, and live ticket events as server-sent
events at `/api/v1/events` (fed by services.api.live through an EventHub).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from domain.catalog import CATALOG
from services.api.deps import get_hub
from services.api.events import KEEPALIVE_S, EventHub, event_stream
from services.auth.principal import Principal

log = logging.getLogger(__name__)

WEB_ROOT = Path(__file__).resolve().parents[2] / "dashboards" / "web"
"""dashboards/web in the source tree (the hub runs from a checkout or an editable install)."""

VENDOR = {"uplot": Path("node_modules/uplot/dist")}
"""Front-end libraries served under /vendor/<name>/, relative to the web root."""

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
"""Everything the page uses comes from this server: a leaked script URL cannot load."""

TokenVerifier = Callable[[str], Principal | None]
"""Token -> principal or None; synchronous (a DB lookup), so it runs in a worker thread."""


def catalog_json() -> dict[str, list[dict[str, str]]]:
    """Metric names in both languages and display units per kind, for the page's labels."""
    return {
        kind.value: [
            {"name": m.name, "unit": m.shown_unit, "zh": m.label_zh, "en": m.label_en}
            for m in metrics.values()
        ]
        for kind, metrics in CATALOG.items()
    }


def _unauthorised() -> JSONResponse:
    return JSONResponse(
        {"detail": "a valid token is required"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def mount(
    app: FastAPI,
    *,
    hub: EventHub,
    verify: TokenVerifier | None = None,
    root: Path = WEB_ROOT,
    keepalive_s: float = KEEPALIVE_S,
) -> None:
    """Serve the dashboard at `/` and live events at `/api/v1/events` on `app`.

    Only `/`, `/static/`, `/vendor/` and `/catalog.json` are added, so routers included later
    under /api/v1 are never shadowed. `verify` maps a token to its principal; by default the
    request's Hub's `tokens.verify` (the same TokenStore the Bearer header is checked against).
    """
    public = root / "public"
    index = public / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"the web dashboard is missing: {index}")
    app.mount("/static", StaticFiles(directory=public), name="web-static")
    for name, rel in VENDOR.items():
        directory = root / rel
        if not directory.is_dir():
            log.warning(
                "front-end library %s is not installed (%s): run dashboards/web/setup.sh; "
                "charts will say they are unavailable",
                name,
                directory,
            )
        app.mount(
            f"/vendor/{name}",
            StaticFiles(directory=directory, check_dir=False),
            name=f"vendor-{name}",
        )

    @app.get("/", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(
            index, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
        )

    catalog = catalog_json()

    @app.get("/catalog.json", include_in_schema=False)
    async def metric_catalog() -> dict[str, list[dict[str, str]]]:
        return catalog

    @app.get(
        "/api/v1/events",
        tags=["events"],
        summary="Live ticket events (server-sent events)",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, 401: {}},
    )
    async def events(
        request: Request,
        token: Annotated[
            str | None, Query(description="the token: EventSource sends no headers")
        ] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Each ticket event the caller may see, as `data: <json>`; a crew gets its own grid
        cells' only. Authenticate with `?token=` (browsers) or a Bearer header."""
        secret = token
        if not secret and authorization and authorization.lower().startswith("bearer "):
            secret = authorization[7:].strip()
        check = verify or get_hub(request).tokens.verify
        principal = await run_in_threadpool(check, secret) if secret else None
        if principal is None:
            return _unauthorised()
        return StreamingResponse(
            event_stream(hub, principal, keepalive_s),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
