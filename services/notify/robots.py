r"""WeCom, DingTalk and Feishu group robots (../shared/spec/channels.md): their message formats,
signatures and answers. Called directly with httpx; the robot's URL (with its key or token) is
the channel's `url`, so a proxy or a test server can stand in, and is never logged.

- WeCom: a notice that mentions someone is a `text` message with `mentioned_mobile_list` (the
  `markdown` type takes no mention lists), at most 2,048 bytes; one that mentions nobody (an
  acknowledgement, a test) is `markdown`, at most 4,096 bytes. No signature: the key is the
  credential. errcode 45009 is throttling (retried), 93000 a wrong key (failed).
- DingTalk: `markdown` with `@mobile` in the text and `at.atMobiles`; signed in the URL with
  `timestamp` (ms) and `sign = urlencode(base64(HMAC-SHA256(key=secret,
  msg=f"{timestamp}\n{secret}")))`. 130101 is "send too fast" (retried), 310000 a failed
  keyword/signature/IP check (failed).
- Feishu: `post` (rich text) with the mentioned person's name and number in the text (its
  mentions take open_ids, not mobiles); signed in the body with `timestamp` (s) and
  `sign = base64(HMAC-SHA256(key=f"{timestamp}\n{secret}", msg=b""))`; body < 20 KB.
  11232 is throttling (retried), 19021 a bad signature or timestamp (failed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import httpx

from domain.channels import ChannelSpec, Lang
from services.notify.message import Message
from services.notify.outcome import Outcome, from_http_error, from_status

WECOM_TEXT_MAX = 2048
WECOM_MARKDOWN_MAX = 4096
DINGTALK_MAX = 18_000
FEISHU_MAX = 19_000

WECOM_THROTTLED, WECOM_BAD_KEY = 45009, 93000
DINGTALK_THROTTLED, DINGTALK_BAD_SIGN = 130101, 310000
FEISHU_THROTTLED, FEISHU_BAD_SIGN = 11232, 19021


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's `sign` query value (already URL-encoded)."""
    msg = f"{timestamp_ms}\n{secret}".encode()
    mac = hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(mac).decode("ascii"))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    r"""Feishu's body `sign`: the HMAC keyed by `timestamp\nsecret` over nothing."""
    key = f"{timestamp_s}\n{secret}".encode()
    mac = hmac.new(key, b"", hashlib.sha256).digest()
    return base64.b64encode(mac).decode("ascii")


def cut(text: str, limit: int) -> str:
    """`text` in at most `limit` UTF-8 bytes, cut on a character, with … when cut."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "…"


def with_query(url: str, **params: str) -> str:
    """`url` with `params` appended (values already encoded)."""
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{extra}"


def wecom_body(m: Message) -> dict[str, Any]:
    mobiles = [p.mobile for p in m.mentions if p.mobile]
    if mobiles:
        text = cut(m.text, WECOM_TEXT_MAX)
        return {
            "msgtype": "text",
            "text": {"content": text, "mentioned_mobile_list": mobiles},
        }
    return {"msgtype": "markdown", "markdown": {"content": cut(m.markdown, WECOM_MARKDOWN_MAX)}}


def dingtalk_body(m: Message) -> dict[str, Any]:
    mobiles = [p.mobile for p in m.mentions if p.mobile]
    ats = " ".join(f"@{mob}" for mob in mobiles)
    links = "\n".join(f"- [{label}]({url})" for label, url in m.links)
    text = cut(m.markdown + ("\n" + links if links else ""), DINGTALK_MAX - len(ats) - 2)
    if ats:
        text += "\n\n" + ats
    return {
        "msgtype": "markdown",
        "markdown": {"title": m.title[:100], "text": text},
        "at": {"atMobiles": mobiles, "isAtAll": False},
    }


def feishu_body(m: Message, lang: Lang) -> dict[str, Any]:
    rows: list[list[dict[str, str]]] = []
    size = 0
    for line in m.lines:
        size += len(line.encode("utf-8"))
        if size > FEISHU_MAX:
            rows.append([{"tag": "text", "text": "…"}])
            break
        rows.append([{"tag": "text", "text": line}])
    links = [{"tag": "a", "text": label, "href": url} for label, url in m.links]
    if links and size + sum(len(x["href"]) + 40 for x in links) <= FEISHU_MAX:
        rows.append(links)  # the ticket pages as links (the lines carry the bare addresses)
    if m.mentions:
        who = " ".join(f"@{p.name} {p.phone}".strip() for p in m.mentions)
        rows.append([{"tag": "text", "text": who}])
    locale = "en_us" if lang is Lang.EN else "zh_cn"
    return {
        "msg_type": "post",
        "content": {"post": {locale: {"title": m.title, "content": rows}}},
    }


class RobotSender:
    """One group robot behind the Sender interface (services.notify.senders)."""

    def __init__(
        self,
        spec: ChannelSpec,
        http: httpx.AsyncClient,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec
        self.http = http
        self.clock = clock

    def request(self, m: Message) -> tuple[str, dict[str, Any]]:
        """The URL and JSON body of `m` for this robot, signed now."""
        spec = self.spec
        if spec.type == "wecom":
            return spec.url, wecom_body(m)
        if spec.type == "dingtalk":
            ts = int(self.clock() * 1000)
            url = with_query(spec.url, timestamp=str(ts), sign=dingtalk_sign(spec.secret, ts))
            return url, dingtalk_body(m)
        body = feishu_body(m, spec.lang)
        if spec.secret:
            ts = int(self.clock())
            body = {"timestamp": str(ts), "sign": feishu_sign(spec.secret, ts), **body}
        return spec.url, body

    async def send(self, m: Message) -> Outcome:
        url, body = self.request(m)
        try:
            r = await self.http.post(url, json=body)
        except httpx.HTTPError as e:
            return from_http_error(e)
        if r.status_code != 200:
            return from_status(r.status_code, r.text)
        return self.judge(r.text)

    def judge(self, answer: str) -> Outcome:
        """Sent, retry or failed from a robot's HTTP 200 answer."""
        try:
            data = json.loads(answer)
        except json.JSONDecodeError:
            return Outcome("failed", "not a robot's answer", answer[:500])
        if not isinstance(data, dict):
            return Outcome("failed", "not a robot's answer", answer[:500])
        if self.spec.type == "feishu":
            code = data.get("code", data.get("StatusCode"))
            msg = str(data.get("msg", data.get("StatusMessage", "")))
            retry = {FEISHU_THROTTLED}
        else:
            code = data.get("errcode")
            msg = str(data.get("errmsg", ""))
            retry = {WECOM_THROTTLED} if self.spec.type == "wecom" else {DINGTALK_THROTTLED}
        if code == 0:
            return Outcome("sent", "ok", answer[:500])
        if code in retry:
            return Outcome("retry", f"throttled ({code} {msg})", answer[:500], throttled=True)
        return Outcome("failed", f"error {code} {msg}".strip(), answer[:500])
