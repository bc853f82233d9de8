"""Each channel type end to end: a ticket event → the outbox → the channel's worker → a local
server that speaks the robot's protocol (or SMTP) and checks it as the real one does."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from domain.breach import Severity
from services.notify.robots import dingtalk_sign, feishu_sign
from tests.notify.conftest import SECRET_DT, SECRET_FS
from tests.notify.support import PUBLIC, running, settle, site, until
from tests.robots.server import (
    DingTalkRobot,
    FeishuRobot,
    WeComRobot,
    dingtalk_expected,
    feishu_expected,
)
from tests.robots.smtp import SmtpServer


def channel(cid: str, kind: str, url: str = "", **more: Any) -> dict[str, Any]:
    return {"id": cid, "type": kind, "url": url, "grids": ["qp-g1"], **more}


def test_signatures_are_the_documented_hmacs() -> None:
    from urllib.parse import unquote_plus

    assert unquote_plus(dingtalk_sign(SECRET_DT, 1700000000123)) == dingtalk_expected(
        SECRET_DT, "1700000000123"
    )
    assert feishu_sign(SECRET_FS, 1700000000) == feishu_expected(SECRET_FS, "1700000000")
    # a known vector: HMAC-SHA256(key="1700000000\nabc", msg=b"") base64
    import base64
    import hashlib
    import hmac

    want = base64.b64encode(hmac.new(b"1700000000\nabc", b"", hashlib.sha256).digest()).decode()
    assert feishu_sign("abc", 1700000000) == want


async def test_wecom_mentions_the_worker_by_mobile(engine: Engine, wecom: WeComRobot) -> None:
    reg = site([channel("qp-wecom", "wecom", wecom.url)])
    async with running(engine, reg) as hub:
        n = hub.open()
        await until(lambda: len(wecom.received) == 1, what="wecom message")
        await until(lambda: any("sent" in x for x in hub.notified(n.ticket.id)))
    body = wecom.received[0].body
    assert body["msgtype"] == "text"
    assert body["text"]["mentioned_mobile_list"] == ["13800000017"]
    text = body["text"]["content"]
    for words in ("清平社区", "清平1号网格", "堰塘A", "溶解氧", "2.0", "轻度黑臭", "严重"):
        assert words in text
    assert f"{PUBLIC}/tickets/{n.ticket.id}" in text
    assert "城市黑臭水体整治工作指南" in text  # the limit's source
    note = hub.notified(n.ticket.id)[0]
    assert "qp-wecom (wecom) opened: sent, attempt 1" in note


async def test_dingtalk_signed_url_and_at_mobiles(engine: Engine, dingtalk: DingTalkRobot) -> None:
    reg = site([channel("qp-dt", "dingtalk", dingtalk.url, secret=SECRET_DT, lang="both")])
    async with running(engine, reg) as hub:
        hub.open()
        await until(lambda: len(dingtalk.received) == 1, what="dingtalk message")
    body = dingtalk.received[0].body
    assert body["msgtype"] == "markdown"
    assert body["at"] == {"atMobiles": ["13800000017"], "isAtAll": False}
    assert "@13800000017" in body["markdown"]["text"]
    assert "溶解氧" in body["markdown"]["text"]
    assert "dissolved oxygen" in body["markdown"]["text"]
    assert dingtalk.answers == [{"errcode": 0, "errmsg": "ok"}]


async def test_feishu_signed_post_names_the_worker(engine: Engine, feishu: FeishuRobot) -> None:
    reg = site([channel("qp-fs", "feishu", feishu.url, secret=SECRET_FS, lang="en")])
    async with running(engine, reg) as hub:
        hub.open()
        await until(lambda: len(feishu.received) == 1, what="feishu message")
    body = feishu.received[0].body
    assert body["msg_type"] == "post"
    assert abs(int(body["timestamp"]) - time.time()) < 10  # seconds, not milliseconds
    post = body["content"]["post"]["en_us"]
    text = " ".join(part["text"] for row in post["content"] for part in row)
    assert "dissolved oxygen" in text
    assert "@李明 138-0000-0017" in text
    links = [part for row in post["content"] for part in row if part["tag"] == "a"]
    assert [link["href"] for link in links] == [f"{PUBLIC}/tickets/1"]


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
async def test_a_bad_key_or_signature_is_recorded_failed_once(
    engine: Engine, kind: str, wecom: WeComRobot, dingtalk: DingTalkRobot, feishu: FeishuRobot
) -> None:
    server = {"wecom": wecom, "dingtalk": dingtalk, "feishu": feishu}[kind]
    url = wecom.url.replace("wecom-key-1", "wrong-key") if kind == "wecom" else server.url
    reg = site([channel("qp-bad", kind, url, secret="not-the-secret")])
    async with running(engine, reg) as hub:
        n = hub.open()
        await until(lambda: server.requests == 1, what="the one attempt")
        await until(lambda: hub.rows()[0].status == "failed")
        await settle(0.5)
    assert server.requests == 1  # not retried
    assert server.received == []
    code = {"wecom": 93000, "dingtalk": 310000, "feishu": 19021}[kind]
    assert str(code) in hub.rows()[0].last_error
    notes = hub.notified(n.ticket.id)
    assert len(notes) == 1
    assert "failed, attempt 1" in notes[0]
    assert str(code) in notes[0]
    assert hub.notifier.attempts[(kind, "failed")] == 1


async def test_a_stale_timestamp_is_refused_as_documented(
    engine: Engine, dingtalk: DingTalkRobot
) -> None:
    dingtalk.clock_offset_s = 3700  # the robot's clock is more than an hour ahead of ours
    reg = site([channel("qp-dt", "dingtalk", dingtalk.url, secret=SECRET_DT)])
    async with running(engine, reg) as hub:
        hub.open()
        await until(lambda: hub.rows()[0].status == "failed")
    assert dingtalk.answers[0]["errcode"] == 310000


async def test_throttled_then_sent(engine: Engine, wecom: WeComRobot) -> None:
    # the robot already took its 20 messages of this minute; the oldest is 59.6 s old
    now = time.monotonic()
    wecom._sends.extend([now - 59.6] + [now - 1] * 19)
    reg = site([channel("qp-wecom", "wecom", wecom.url)])
    async with running(engine, reg, window_s=0, retry_base_s=0.15) as hub:
        n = hub.open()
        await until(lambda: len(wecom.received) == 1, what="sent after throttling")
        await until(lambda: hub.rows()[0].status == "sent")
    assert wecom.answers[0]["errcode"] == 45009
    notes = hub.notified(n.ticket.id)
    assert "will retry, attempt 1" in notes[0]
    assert "45009" in notes[0]
    assert "sent" in notes[-1]
    assert hub.rows()[0].attempts == len(notes) >= 2


async def test_server_errors_are_retried(engine: Engine, feishu: FeishuRobot) -> None:
    feishu.fail_with = [503, 502]
    reg = site([channel("qp-fs", "feishu", feishu.url, secret=SECRET_FS)])
    async with running(engine, reg, window_s=0, retry_base_s=0.05) as hub:
        n = hub.open()
        await until(lambda: len(feishu.received) == 1)
        await until(lambda: hub.rows()[0].status == "sent")
    notes = hub.notified(n.ticket.id)
    assert ["HTTP 503" in notes[0], "HTTP 502" in notes[1], "sent" in notes[2]] == [True] * 3


async def test_a_dead_channel_does_not_delay_another(
    engine: Engine, wecom: WeComRobot, dingtalk: DingTalkRobot
) -> None:
    wecom.hang = True  # takes the request, never answers
    reg = site(
        [
            channel("qp-wecom", "wecom", wecom.url),
            channel("qp-dt", "dingtalk", dingtalk.url, secret=SECRET_DT),
        ]
    )
    async with running(engine, reg, window_s=0, send_timeout_s=3.0) as hub:
        start = time.monotonic()
        hub.open()
        await until(lambda: len(dingtalk.received) == 1, timeout_s=2)
        took = time.monotonic() - start
        assert took < 1.0, took
        assert {r.channel: r.status for r in hub.rows()}["qp-wecom"] == "pending"


async def test_email_over_starttls_with_login_text_and_html(
    engine: Engine, smtp: SmtpServer
) -> None:
    reg = site([{"id": "qp-mail", "type": "email", "to": ["ops@example.org"], "grids": ["qp-g1"]}])
    async with running(engine, reg, smtp_url=smtp.url, smtp_tls=smtp.client_tls) as hub:
        n = hub.open()
        await until(lambda: len(smtp.mailbox.messages) == 1, what="mail")
        await until(lambda: hub.rows()[0].status == "sent")
    mail = smtp.mailbox.messages[0]
    assert smtp.mailbox.envelopes[0] == ("gridwatch@example.org", ["ops@example.org"])
    assert "清平社区" in str(mail["Subject"])
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None
    assert html is not None
    assert f"{PUBLIC}/tickets/{n.ticket.id}" in text.get_content()
    assert f'href="{PUBLIC}/tickets/{n.ticket.id}"' in html.get_content()


async def test_email_wrong_password_is_failed(engine: Engine, smtp: SmtpServer) -> None:
    url = smtp.url.replace("pw-1", "nope")
    reg = site([{"id": "qp-mail", "type": "email", "to": ["ops@example.org"], "grids": ["qp-g1"]}])
    async with running(engine, reg, smtp_url=url, smtp_tls=smtp.client_tls) as hub:
        hub.open()
        await until(lambda: hub.rows()[0].status != "pending", what="an answer")
    assert hub.rows()[0].status == "failed"
    assert "SMTP 535" in hub.rows()[0].last_error
    assert smtp.mailbox.messages == []


async def test_acknowledged_is_a_short_line_for_groups_only(
    engine: Engine, wecom: WeComRobot, smtp: SmtpServer
) -> None:
    reg = site(
        [
            channel("qp-wecom", "wecom", wecom.url),
            {"id": "qp-mail", "type": "email", "to": ["ops@example.org"], "grids": ["qp-g1"]},
        ]
    )
    async with running(engine, reg, window_s=0, smtp_url=smtp.url, smtp_tls=smtp.client_tls) as hub:
        n = hub.open()
        await until(lambda: len(wecom.received) == 1 and len(smtp.mailbox.messages) == 1)
        hub.tickets.actions.acknowledge(n.ticket.id, "li-ming", None)
        hub.notifier.wake()
        await until(lambda: len(wecom.received) == 2, what="the ack line")
        await settle(0.3)
    ack = wecom.received[1].body
    assert ack["msgtype"] == "markdown"
    assert "已确认" in ack["markdown"]["content"]
    assert "li-ming" in ack["markdown"]["content"]
    assert len(smtp.mailbox.messages) == 1


async def test_quiet_hours_hold_warnings_not_criticals(engine: Engine, wecom: WeComRobot) -> None:
    local = datetime.now(site([]).site.tz)
    start = (local - timedelta(hours=1)).strftime("%H:%M")
    end = (local + timedelta(hours=1)).strftime("%H:%M")
    reg = site([channel("qp-wecom", "wecom", wecom.url, quiet_hours=f"{start}-{end}")])
    async with running(engine, reg, window_s=0) as hub:
        hub.open("pond-qp-01", Severity.WARNING)
        hub.open("water-qp-01", Severity.CRITICAL)
        await until(lambda: len(wecom.received) == 1)
        await settle(0.5)
        rows = {r.severity: r for r in hub.rows()}
    assert len(wecom.received) == 1
    assert "严重" in wecom.received[0].body["text"]["content"]
    assert rows["warning"].status == "pending"
    wait_h = (rows["warning"].due_at_ns - time.time_ns()) / 3.6e12
    assert 0.9 < wait_h <= 1.0  # until the quiet hours end


async def test_severities_and_grids_route(engine: Engine, wecom: WeComRobot) -> None:
    reg = site(
        [
            {**channel("crit-only", "wecom", wecom.url), "severities": ["critical"]},
            {"id": "hx-wecom", "type": "wecom", "url": wecom.url, "communities": ["hexi"]},
        ]
    )
    async with running(engine, reg) as hub:
        hub.open("pond-qp-01", Severity.WARNING)  # qp-g1 warning: nobody takes it
        hub.open("sewer-hx-01", Severity.WARNING)  # hexi community: the hx channel
        assert [r.channel for r in hub.rows()] == ["hx-wecom"]


def test_the_directory_follows_a_registry_whose_site_changes(wecom: WeComRobot) -> None:
    from services.notify.directory import SiteDirectory

    reg = site([channel("qp-wecom", "wecom", wecom.url)])
    directory = SiteDirectory(reg)
    assert [c.id for c in directory.routes("qp-g1", "qingping", "critical")] == ["qp-wecom"]
    newer = site([channel("qp-other", "wecom", wecom.url)])
    reg.swap(newer)  # what a live registry's watcher does to the object its holders share
    assert directory.channel("qp-wecom") is None
    assert [c.id for c in directory.channels()] == ["qp-other"]
