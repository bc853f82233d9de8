"""What a long ticket history costs a read: one ticket with N comments of L characters, then the
bytes and server seconds of a list read (GET /tickets), a ticket read (GET /tickets/{id}), and
one live event (a new comment, as the dashboard's stream receives it).

The app runs in-process (httpx over ASGI, lifespan included, the live stream's database poll at
0.1 s) on a temporary SQLite file or on `--db-url`; the history is written in one statement, as
if a crew had posted it over the months. The live event is taken from the app's EventHub, the
fan-out every open stream reads, so its size is what each open page receives.

    .venv/bin/python -m bench.history [--comments 5000] [--chars 2000] [--db-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from domain.breach import Breach, Change, Severity
from domain.site import Registry, parse_site
from gridwatch.settings import load_settings
from services.api.app import create_app
from services.api.hub import Hub
from services.db.models import TicketEvent

SITE = {
    "timezone": "Asia/Shanghai",
    "communities": [
        {
            "id": "bench",
            "name": "Bench",
            "supervisor": {"id": "s-1", "name": "Sup"},
            "grids": [{"id": "g-1", "name": "G1", "worker": {"id": "w-1", "name": "W"}}],
        }
    ],
    "sensors": [{"id": "pond-1", "kind": "pond", "grid": "g-1", "asset": "pond A"}],
}
T0 = 1_700_000_000 * 10**9


class _WithState:
    """Hands the lifespan's state to each request, as a server would."""

    def __init__(self, app: Any, state: dict[str, Any]) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app({**scope, "state": dict(self.state)}, receive, send)


def _seed(hub: Hub, comments: int, chars: int) -> int:
    [n] = hub.tickets.apply(
        Breach("pond-1", "pond.low_oxygen", Change.RAISED, Severity.CRITICAL, T0, T0, "do", 1.5)
    )
    tid = n.ticket.id
    text = "x" * chars
    rows = [
        {
            "ticket_id": tid,
            "kind": "commented",
            "actor": "crew",
            "at_ns": T0 + i,
            "recorded_at_ns": T0 + i,
            "severity": "critical",
            "value": None,
            "note": text,
        }
        for i in range(comments)
    ]
    with hub.engine.begin() as c:
        for i in range(0, len(rows), 1000):
            c.execute(insert(TicketEvent), rows[i : i + 1000])
    return tid


async def _timed_get(c: httpx.AsyncClient, url: str, h: dict[str, str]) -> tuple[int, float]:
    best = float("inf")
    size = 0
    for _ in range(3):
        t = time.perf_counter()
        r = await c.get(url, headers=h)
        best = min(best, time.perf_counter() - t)
        r.raise_for_status()
        size = len(r.content)
    return size, best


async def run(comments: int, chars: int, db_url: str) -> dict[str, tuple[int, float]]:
    hubs: list[Hub] = []
    settings = load_settings(db_url=db_url, site="")
    app = create_app(
        settings,
        registry=Registry(parse_site(SITE)),
        on_start=hubs.append,
        tick_interval_s=0,
        live_poll_s=0.1,
    )
    async with app.router.lifespan_context(app) as state:
        hub = hubs[0]
        assert hub.events is not None  # the app always has its live stream
        token = hub.tokens.create(f"bench-{time.time_ns()}", "admin")
        h = {"Authorization": f"Bearer {token}"}
        tid = _seed(hub, comments, chars)
        transport = httpx.ASGITransport(app=_WithState(app, dict(state or {})))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            figures = {
                "list (GET /tickets)": await _timed_get(c, "/api/v1/tickets", h),
                "ticket (GET /tickets/{id})": await _timed_get(c, f"/api/v1/tickets/{tid}", h),
            }
            await asyncio.sleep(0.3)  # the live follower has seen the history
            async with hub.events.subscribe() as sub:
                t = time.perf_counter()
                r = await c.post(
                    f"/api/v1/tickets/{tid}/comments", headers=h, json={"text": "on site"}
                )
                r.raise_for_status()
                event = await sub.next(120)
                took = time.perf_counter() - t
            assert event is not None  # the comment must reach the stream
            size = len(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode())
            figures["live event (comment -> stream)"] = (size, took)
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--comments", type=int, default=5000)
    p.add_argument("--chars", type=int, default=2000)
    p.add_argument("--db-url", default=None, help="default: a temporary SQLite file")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = a.db_url or f"sqlite:///{Path(tmp) / 'history.db'}"
        figures = asyncio.run(run(a.comments, a.chars, url))
    print(f"one ticket with {a.comments:,} comments of {a.chars:,} characters")
    for what, (size, seconds) in figures.items():
        print(f"{what}: {size:,} bytes, {seconds:.3f} s")


if __name__ == "__main__":
    main()
