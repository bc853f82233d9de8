"""The live-event plumbing without a browser: the hub's fan-out and the SSE endpoint's rules
(token required, a crew hears only its own grid cells)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest

from domain.breach import Severity
from services.api.events import EventHub, visible
from services.auth.principal import Principal, Role
from tests.browser.conftest import Server

CREW_EAST = Principal("crew-east", Role.CREW, frozenset({"grid-east"}))
OFFICER = Principal("officer", Role.OFFICER)


async def test_publish_from_another_thread_reaches_every_subscriber() -> None:
    hub = EventHub()
    async with hub.subscribe() as a, hub.subscribe() as b:
        t = threading.Thread(target=hub.publish, args=({"event": "opened", "grid": "g-1"},))
        t.start()
        t.join()
        assert await a.next(5) == {"event": "opened", "grid": "g-1"}
        assert await b.next(5) == {"event": "opened", "grid": "g-1"}
    assert hub.subscribers == 0


async def test_a_slow_reader_loses_its_oldest_events_not_the_newest() -> None:
    hub = EventHub(max_queued=2)
    async with hub.subscribe() as sub:
        for i in range(5):
            hub.publish({"n": i})
        await asyncio.sleep(0)  # let the loop run the threadsafe callbacks
        assert [await sub.next(1), await sub.next(1)] == [{"n": 3}, {"n": 4}]
        assert sub.dropped == 3


async def test_close_ends_open_subscriptions() -> None:
    hub = EventHub()
    async with hub.subscribe() as sub:
        hub.close()
        with pytest.raises(StopAsyncIteration):
            await sub.next(5)


def test_a_crew_sees_only_its_own_grids_events() -> None:
    east = {"event": "opened", "ticket": {"id": 1, "grid": "grid-east"}}
    west = {"event": "opened", "ticket": {"id": 2, "grid": "grid-west"}}
    gridless = {"event": "restarted"}
    assert visible(CREW_EAST, east)
    assert not visible(CREW_EAST, west)
    assert not visible(CREW_EAST, gridless)
    assert all(visible(OFFICER, e) for e in (east, west, gridless))


def _pass(server: Server, token: str) -> str:
    r = httpx.post(
        f"{server.url}/api/v1/events/passes",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["pass"])


def test_events_need_a_valid_token(server: Server) -> None:
    for params in ({}, {"pass": "sp_wrong"}, {"token": server.tokens["crew"]}):
        r = httpx.get(f"{server.url}/api/v1/events", params=params, timeout=5)
        assert r.status_code == 401
    r = httpx.post(
        f"{server.url}/api/v1/events/passes", headers={"Authorization": "Bearer gw_wrong"}
    )
    assert r.status_code == 401


def test_the_stream_carries_own_grid_tickets_to_a_crew(server: Server) -> None:
    with httpx.stream(
        "GET",
        f"{server.url}/api/v1/events",
        params={"pass": _pass(server, server.tokens["crew"])},
        timeout=10,
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        assert next(lines) == "retry: 5000"
        west = server.breach("power-01", "power.frequency", Severity.WARNING, metric="frequency")
        east = server.breach("water-01", "water.turbidity", Severity.WARNING, metric="turbidity")
        seen: list[dict[str, Any]] = []
        for line in lines:  # the stream may still carry the fixture's own earlier tickets
            if line.startswith("data: "):
                seen.append(json.loads(line.removeprefix("data: ")))
                if seen[-1]["ticket"]["id"] >= east:
                    break
    assert all(e["ticket"]["grid"] == "grid-east" for e in seen), seen
    assert west not in {e["ticket"]["id"] for e in seen}  # the other grid's never came through
    assert (seen[-1]["event"], seen[-1]["ticket"]["id"]) == ("opened", east)
