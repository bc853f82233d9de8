"""The hub's own composition: the API process's ticket runtime (open_ticketing) owes notices in
the outbox and runs the channel workers; an acknowledgement through the REST API reaches the
group, and /metrics counts attempts by channel type and outcome."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.breach import Change
from gridwatch.settings import load_settings
from services.api.app import create_app
from services.api.hub import Hub
from services.db.models import OutboxRow
from tests.notify.support import PUBLIC, site, until
from tests.robots.server import WeComRobot
from tests.services.api.conftest import _WithState
from tests.services.tickets.site import HOUR, T0, low_do


def sent(hub: Hub) -> int:
    with Session(hub.engine) as s:
        return len(s.scalars(select(OutboxRow.id).where(OutboxRow.status == "sent")).all())


async def test_api_ack_reaches_the_group_and_metrics_count_it(
    tmp_path: Path, wecom: WeComRobot
) -> None:
    reg = site([{"id": "qp-wecom", "type": "wecom", "url": wecom.url, "grids": ["qp-g1"]}])
    settings = load_settings(
        db_url=f"sqlite:///{tmp_path / 'gw.db'}",
        site="",
        public_url=PUBLIC,
        notify_group_window_s=0.2,
        notify_poll_s=0.05,
    )
    hubs: list[Hub] = []
    app = create_app(settings, registry=reg, on_start=hubs.append, tick_interval_s=0)
    async with (
        app.router.lifespan_context(app) as state,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_WithState(app, dict(state or {}))),
            base_url="http://gridwatch.test",
        ) as client,
    ):
        hub = hubs[0]
        token = hub.tokens.create("li-ming", "crew", ("qp-g1",))
        auth = {"Authorization": f"Bearer {token}"}
        [n] = hub.tickets.apply(low_do(Change.RAISED, at=T0 + HOUR))
        await until(lambda: len(wecom.received) == 1, what="the opened notice")
        r = await client.post(f"/api/v1/tickets/{n.ticket.id}/ack", headers=auth)
        assert r.status_code == 200
        await until(lambda: len(wecom.received) == 2, what="the ack line")
        await until(lambda: sent(hub) == 2, what="both attempts recorded")
        page = await client.get(f"/api/v1/tickets/{n.ticket.id}", headers=auth)
        admin = hub.tokens.create("root", "admin")
        m = await client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {admin}"})
    kinds = [e["kind"] for e in page.json()["events"]]
    assert kinds.count("notified") == 2
    assert 'gridwatch_notify_attempts_total{outcome="sent",type="wecom"} 2.0' in m.text
    assert 'gridwatch_notify_outbox{channel="qp-wecom",status="sent"} 2.0' in m.text
    assert f"{PUBLIC}/tickets/{n.ticket.id}" in wecom.received[0].body["text"]["content"]
