"""The web dashboard, served by the API process: the single-page app at `/`, its pinned
front-end libraries under `/vendor/` (installed by dashboards/web/setup.sh, never fetched at run
time), the metric catalog the page labels charts with, and live ticket events as server-sent
events at `/api/v1/events`.

`EventHub` is the in-process broadcaster between the ticket service and open pages. It is a
notify Channel (`name`, `async send(notice)`), so the composition root passes it to
`create_app(channels=[hub])` and the Dispatcher fans ticket notices out to it; anything else may
call `hub.publish(event_dict)` from any thread. Each page's stream gets the events its principal
may see (a crew only its own grid cells' tickets). Wiring:

    events = EventHub()
    app = create_app(settings, channels=[events], routers=[trends.router])
    mount(app, hub=events)          # and events.close() before stopping the server
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from domain.catalog import CATALOG
from services.api.deps import get_hub
from services.auth.principal import Principal
from services.tickets.schemas import Notice

log = logging.getLogger(__name__)

WEB_ROOT = Path(__file__).resolve().parents[2] / "dashboards" / "web"
"""dashboards/web in the source tree (the hub runs from a checkout or an editable install)."""

VENDOR = {"uplot": Path("node_modules/uplot/dist")}
"""Front-end libraries served under /vendor/<name>/, relative to the web root."""

KEEPALIVE_S = 15.0
"""A comment line this often keeps proxies and the browser from dropping an idle stream."""

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
"""Everything the page uses comes from this server: a leaked script URL cannot load."""

Event = Mapping[str, Any]
TokenVerifier = Callable[[str], Principal | None]
"""Token -> principal or None; synchronous (a DB lookup), so it runs in a worker thread."""


class _Closed:
    """Sentinel telling a subscription the hub is shutting down."""


_CLOSED = _Closed()


@dataclass(eq=False)
class Subscription:
    """One listener's bounded queue on the event loop it reads from."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event | _Closed]
    dropped: int = 0

    def offer(self, item: Event | _Closed) -> None:
        """Enqueue without blocking; a slow reader loses its oldest events, never the hub."""
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self.queue.get_nowait()
                    self.dropped += 1

    async def next(self, idle_s: float) -> Event | None:
        """The next event, None after `idle_s` seconds of quiet; StopAsyncIteration if closed."""
        try:
            item = await asyncio.wait_for(self.queue.get(), idle_s)
        except TimeoutError:
            return None
        if isinstance(item, _Closed):
            raise StopAsyncIteration
        return item


@dataclass
class EventHub:
    """Fan-out of ticket events to every open event stream in this process."""

    max_queued: int = 256
    published: int = 0
    name: str = "live"
    _subs: set[Subscription] = field(default_factory=set)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    @property
    def dropped(self) -> int:
        return sum(s.dropped for s in self._subs)

    def publish(self, event: Event) -> None:
        """Hand `event` (a JSON-able dict, e.g. a ticket Notice dumped in JSON mode) to every
        subscriber. Safe from any thread and never blocks; a closed loop's subscriber is
        forgotten."""
        self.published += 1
        for sub in list(self._subs):
            try:
                sub.loop.call_soon_threadsafe(sub.offer, event)
            except RuntimeError:  # its loop has closed
                self._subs.discard(sub)

    async def send(self, notice: Notice) -> None:
        """The notify Channel protocol, so the Dispatcher can fan ticket notices out here too."""
        self.publish(notice.model_dump(mode="json"))

    def close(self) -> None:
        """End every open stream (call before stopping the server so it need not wait)."""
        for sub in list(self._subs):
            with contextlib.suppress(RuntimeError):
                sub.loop.call_soon_threadsafe(sub.offer, _CLOSED)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        """A subscription for the duration of the `async with` block."""
        sub = Subscription(asyncio.get_running_loop(), asyncio.Queue(self.max_queued))
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)


def event_grid(event: Event) -> str | None:
    """The grid cell an event belongs to: `grid`, or that of the `ticket` it carries."""
    grid = event.get("grid")
    ticket = event.get("ticket")
    if grid is None and isinstance(ticket, Mapping):
        grid = ticket.get("grid")
    return grid if isinstance(grid, str) else None


def visible(principal: Principal, event: Event) -> bool:
    """A crew sees events of its own grid cells only; an event without a grid is not shown to
    crews (never another grid's data)."""
    if principal.scope is None:
        return True
    grid = event_grid(event)
    return grid is not None and principal.sees_grid(grid)


def sse_message(event: Event, seq: int) -> str:
    return f"id: {seq}\ndata: {json.dumps(event, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def event_stream(
    hub: EventHub, principal: Principal, keepalive_s: float = KEEPALIVE_S
) -> AsyncIterator[str]:
    """The text/event-stream body for one page: events it may see, and keep-alive comments."""
    async with hub.subscribe() as sub:
        yield "retry: 5000\n: connected\n\n"
        seq = 0
        while True:
            try:
                event = await sub.next(keepalive_s)
            except StopAsyncIteration:
                return
            if event is None:
                yield ": keep-alive\n\n"
            elif visible(principal, event):
                seq += 1
                yield sse_message(event, seq)


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
