"""An API app on a fresh SQLite database with the test site, one token per role, and one
ticket in grid qp-g1 (crew `own` may act on it; crew `other`, of hx-g1, may not)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from domain.breach import Change
from gridwatch.settings import load_settings
from services.api.app import create_app
from services.api.hub import Hub
from tests.services.tickets.site import HOUR, T0, low_do, registry


@dataclass
class Api:
    client: httpx.AsyncClient
    hub: Hub
    tokens: dict[str, str]
    ticket_id: int

    def headers(self, who: str) -> dict[str, str]:
        if who == "none":
            return {}
        if who == "wrong":
            return {"Authorization": "Bearer gw_not-a-real-token"}
        return {"Authorization": f"Bearer {self.tokens[who]}"}


class _WithState:
    """Runs the app's lifespan and hands its state to each request, as a server would
    (httpx's ASGITransport speaks only HTTP)."""

    def __init__(self, app: FastAPI, state: dict[str, Any]) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app({**scope, "state": dict(self.state)}, receive, send)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """A running app (lifespan included) with tokens: admin, officer, own, other."""
    hubs: list[Hub] = []
    settings = load_settings(db_url=f"sqlite:///{tmp_path / 'gw.db'}", site="")
    app = create_app(settings, registry=registry(), on_start=hubs.append, tick_interval_s=0)
    async with (
        app.router.lifespan_context(app) as state,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_WithState(app, dict(state or {}))),
            base_url="http://gridwatch.test",
        ) as client,
    ):
        hub = hubs[0]
        tokens = {
            "admin": hub.tokens.create("root", "admin"),
            "officer": hub.tokens.create("zhou", "officer"),
            "own": hub.tokens.create("li-ming", "crew", ("qp-g1",)),
            "other": hub.tokens.create("zhang-wei", "crew", ("hx-g1",)),
        }
        [n] = hub.tickets.apply(low_do(Change.RAISED, at=T0 + HOUR))
        hub.tickets.apply(low_do(Change.RAISED, at=T0 + HOUR, sensor="water-qp-01"))
        yield Api(client, hub, tokens, n.ticket.id)
