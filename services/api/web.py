"""The web dashboard, served by the API process: the single-page app at `/`, its pinned
front-end libraries under `/vendor/` (installed by dashboards/web/setup.sh, never fetched at run
time), the metric catalog the page labels charts with, and live ticket events as server-sent
events at `/api/v1/events` (services.api.stream; fed by services.api.live through an EventHub).
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

from domain.catalog import CATALOG
from domain.ids import ID_PATTERN
from services.api.events import KEEPALIVE_S, EventHub
from services.api.stream import redact_access_log, stream_router
from services.api.streampass import StreamPasses

log = logging.getLogger(__name__)

WEB_ROOT = Path(str(resources.files("dashboards.web")))
"""The dashboard's package data: dashboards/web in a checkout, site-packages/dashboards/web in
an installed wheel (the same lookup for both; a file-system package, so a real folder)."""

VENDOR = {"uplot": Path("node_modules/uplot/dist")}
"""Front-end libraries served under /vendor/<name>/, relative to the web root."""


def catalog_json() -> dict[str, list[dict[str, str]]]:
    """Metric names in both languages and display units per kind, for the page's labels."""
    return {
        kind.value: [
            {"name": m.name, "unit": m.shown_unit, "zh": m.label_zh, "en": m.label_en}
            for m in metrics.values()
        ]
        for kind, metrics in CATALOG.items()
    }


def mount(
    app: FastAPI,
    *,
    hub: EventHub,
    root: Path = WEB_ROOT,
    keepalive_s: float = KEEPALIVE_S,
) -> None:
    """Serve the dashboard at `/` and live events at `/api/v1/events` on `app`.

    Only `/`, `/static/`, `/vendor/` and `/catalog.json` are added, so routers included later
    under /api/v1 are never shadowed.
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
        return FileResponse(index, headers={"Cache-Control": "no-cache"})  # CSP: security.py

    resident = public / "resident.html"
    worker = public / "js" / "sw.js"

    @app.get("/sw.js", include_in_schema=False)
    async def service_worker() -> FileResponse:
        """The offline app shell; at the root so its scope is the whole dashboard."""
        return FileResponse(
            worker, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
        )

    @app.get("/r/{sensor_id}", include_in_schema=False)
    async def resident_form(
        sensor_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
    ) -> FileResponse:
        """The residents' public form for one asset (printed on labels; no sign-in)."""
        return FileResponse(resident, headers={"Cache-Control": "no-cache"})

    @app.get("/s/{sensor_id}", include_in_schema=False)
    async def sensor_label(
        sensor_id: Annotated[str, PathParam(pattern=ID_PATTERN)],
    ) -> RedirectResponse:
        """A label's QR code: the sensor's page in the dashboard (sign-in first if needed)."""
        return RedirectResponse(f"/#/sensor/{sensor_id}", status_code=302)

    @app.get("/tickets/{ticket_id}", include_in_schema=False)
    async def ticket_link(ticket_id: Annotated[int, PathParam(ge=1)]) -> RedirectResponse:
        """A notice's link ({PUBLIC_URL}/tickets/{id}): the ticket's page in the dashboard."""
        return RedirectResponse(f"/#/ticket/{ticket_id}", status_code=302)

    catalog = catalog_json()

    @app.get("/catalog.json", include_in_schema=False)
    async def metric_catalog() -> dict[str, list[dict[str, str]]]:
        return catalog

    app.include_router(stream_router(hub, StreamPasses(), keepalive_s=keepalive_s))
    redact_access_log()
