"""A registry change tells the crews (contract §7 with §8): a moved sensor's open ticket is
announced in the new grid's group with its worker named, a retired sensor's closed ticket in
its own grid's group — from the change's own transaction, as the ticket service's notices are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from domain.sections import NotifySettings
from domain.settings import Settings
from services.registry import edits
from services.registry.changes import Current
from services.registry.store import RegistryStore
from services.ticketing import registry_outbox
from tests.notify.conftest import SECRET_DT
from tests.notify.support import PUBLIC, running, site, until
from tests.notify.test_channels import channel
from tests.robots.server import DingTalkRobot, WeComRobot


def _patch(grid: str) -> Any:
    def make(cur: Current) -> Any:
        assert cur.site is not None
        return edits.patch(cur.site, "sensors", "pond-qp-01", {"grid": grid})

    return make


def _retire(cur: Current) -> Any:
    assert cur.site is not None
    return edits.remove(cur.site, "sensors", "pond-qp-01")


async def test_a_moved_and_a_retired_sensors_tickets_reach_the_right_groups(
    engine: Engine, wecom: WeComRobot, dingtalk: DingTalkRobot
) -> None:
    reg = site(
        [
            channel("qp-g1-wecom", "wecom", wecom.url),
            channel("qp-g2-dt", "dingtalk", dingtalk.url, secret=SECRET_DT, grids=["qp-g2"]),
        ]
    )
    config = Settings(notify=NotifySettings(public_url=PUBLIC, group_window_s=0.1))
    store = RegistryStore(engine, outbox=registry_outbox(config))
    store.seed(reg.site)
    async with running(engine, reg, window_s=0.1) as hub:
        n = hub.open()  # pond-qp-01 in qp-g1
        await until(lambda: len(wecom.received) == 1, what="the opening notice")
        dingtalk_before = len(dingtalk.received)

        out = store.change(_patch("qp-g2"), "admin")
        assert out.tickets_reassigned == [n.ticket.id]
        assert [x.event for x in out.notices] == ["reassigned"]
        hub.notifier.wake()
        await until(lambda: len(dingtalk.received) == dingtalk_before + 1, what="qp-g2's notice")
        text = dingtalk.received[-1].body["markdown"]["text"]
        assert "转交本网格" in text
        assert f"#{n.ticket.id}" in text
        assert dingtalk.received[-1].body["at"]["atMobiles"] == ["13800000018"]  # 王芳, qp-g2

        out = store.change(_retire, "admin")
        assert out.tickets_retired == [n.ticket.id]
        hub.notifier.wake()
        await until(lambda: len(dingtalk.received) == dingtalk_before + 2, what="the closing")
    closing = dingtalk.received[-1].body
    assert "传感器已停用" in closing["markdown"]["text"]
    assert closing["at"]["atMobiles"] == []  # a closing names nobody
    assert len(wecom.received) == 1  # the old grid's group heard only the opening
