"""No storms: a burst is one message per channel, rate limits make the excess wait, and the
figures of a 50-ticket burst in one grid."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Engine

from services.notify.notifier import RateLimit
from tests.notify.conftest import SECRET_DT, SECRET_FS
from tests.notify.support import running, site, until
from tests.robots.server import DingTalkRobot, FeishuRobot, WeComRobot
from tests.robots.smtp import SmtpServer


def test_rate_limit_counts_a_sliding_minute_and_feishus_second() -> None:
    now = [0.0]
    r = RateLimit(3, per_s=2, clock=lambda: now[0])
    assert r.wait_s() == 0
    r.note()
    r.note()
    assert r.wait_s() == 1.0  # two in this second
    now[0] = 1.0
    r.note()
    assert r.wait_s() == 59.0  # three in this minute: the first leaves at 60 s
    now[0] = 60.0
    assert r.wait_s() == 0


async def test_a_burst_of_50_is_one_message_per_channel(
    engine: Engine,
    wecom: WeComRobot,
    dingtalk: DingTalkRobot,
    feishu: FeishuRobot,
    smtp: SmtpServer,
) -> None:
    reg = site(
        [
            {"id": "b-wecom", "type": "wecom", "url": wecom.url, "grids": ["qp-g1"]},
            {
                "id": "b-dt",
                "type": "dingtalk",
                "url": dingtalk.url,
                "secret": SECRET_DT,
                "grids": ["qp-g1"],
            },
            {
                "id": "b-fs",
                "type": "feishu",
                "url": feishu.url,
                "secret": SECRET_FS,
                "grids": ["qp-g1"],
                "lang": "both",
            },
            {
                "id": "b-mail",
                "type": "email",
                "to": ["ops@example.org"],
                "communities": ["qingping"],
            },
        ],
        sensors=50,
    )
    window = 3.0
    async with running(
        engine, reg, window_s=window, smtp_url=smtp.url, smtp_tls=smtp.client_tls
    ) as hub:
        start = time.monotonic()
        breaches = [f"pond-qp-b{i:02d}" for i in range(50)]
        for i in range(0, 50, 10):  # five gateway batches of ten
            hub.open_many(breaches[i : i + 10])
        opened = time.monotonic() - start
        servers = (wecom, dingtalk, feishu)
        await until(lambda: all(len(s.received) >= 1 for s in servers), what="all robots")
        await until(lambda: len(smtp.mailbox.messages) >= 1, what="the mail")
        last = max(max(s.received[-1].at for s in servers), time.monotonic()) - start
        await until(lambda: all(r.status == "sent" for r in hub.rows()), what="all sent")
        await asyncio.sleep(0.3)
    counts = {
        "wecom": len(wecom.received),
        "dingtalk": len(dingtalk.received),
        "feishu": len(feishu.received),
        "email": len(smtp.mailbox.messages),
    }
    print(
        f"\nburst of 50 tickets in one grid, group window {window:g} s: opened in {opened:.2f} s;"
        f" messages {counts}; last message {last:.2f} s after the first ticket"
    )
    assert counts == {"wecom": 1, "dingtalk": 1, "feishu": 1, "email": 1}
    text = wecom.received[0].body["text"]["content"]
    assert "50 条通知" in text
    named = text.count("[严重] 新告警 #")
    assert f"另有 {50 - named} 条" in text  # as many named as fit in 2,048 bytes, the rest counted
    assert len(text.encode()) <= 2048
    md = dingtalk.received[0].body["markdown"]["text"]
    assert "另有 40 条" in md  # ten named
    assert len(hub.rows()) == 200
    assert "1 of 50 in one message" in hub.notified(1)[0]


async def test_past_the_rate_limit_the_excess_waits(engine: Engine, wecom: WeComRobot) -> None:
    wecom.per_min = 20
    reg = site(
        [
            {
                "id": "r-wecom",
                "type": "wecom",
                "url": wecom.url,
                "grids": ["qp-g1"],
                "group_window_s": 0,
                "rate_per_min": 5,
            }
        ],
        sensors=8,
    )
    async with running(engine, reg) as hub:
        for i in range(7):  # one at a time: five messages, then the limit
            hub.open(f"pond-qp-b{i:02d}")
            if i < 5:
                await until(lambda i=i: len(wecom.received) == i + 1)  # type: ignore[misc]
        await asyncio.sleep(1.0)
        rows = hub.rows()
    assert len(wecom.received) == 5
    assert all(a["errcode"] == 0 for a in wecom.answers)  # we waited; the robot never refused
    assert sum(r.status == "pending" and r.attempts == 0 for r in rows) == 2
