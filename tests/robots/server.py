"""The robot servers: one threaded HTTP server each, on a free loopback port."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOUR_S = 3600


@dataclass
class Received:
    """One message a robot took (answered code 0)."""

    body: dict[str, Any]
    at: float  # time.monotonic() when it arrived


@dataclass
class RobotServer:
    """Base: subclasses define `path`, `judge(query, body) -> answer dict`."""

    per_min: int = 20
    per_s: int | None = None
    secret: str = ""
    token: str = "tok-123"
    clock_offset_s: float = 0.0  # the server's clock runs this far from ours
    received: list[Received] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)  # every answer, in order
    requests: int = 0
    hang: bool = False
    fail_with: list[int] = field(default_factory=list)  # HTTP statuses for the next requests
    _sends: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _http: ThreadingHTTPServer | None = None
    last_headers: dict[str, str] = field(default_factory=dict)
    last_raw: bytes = b""

    kind = "robot"
    ok_field = "errcode"

    @property
    def url(self) -> str:
        assert self._http is not None
        port = self._http.server_address[1]
        return f"http://127.0.0.1:{port}{self.path_for(self.token)}"

    def path_for(self, token: str) -> str:
        raise NotImplementedError

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def throttled(self) -> bool:
        """True when this request is past a limit; else counts it as a send."""
        t = time.monotonic()
        while self._sends and self._sends[0] <= t - 60:
            self._sends.popleft()
        over = len(self._sends) >= self.per_min
        if self.per_s is not None:
            recent = sum(1 for s in self._sends if s > t - 1)
            over = over or recent >= self.per_s
        if not over:
            self._sends.append(t)
        return over

    def judge(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def handle(
        self, path: str, query: dict[str, str], raw: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests += 1
            self.last_headers, self.last_raw = headers or {}, raw
            if self.fail_with:
                return self.fail_with.pop(0), {"error": "unavailable"}
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                return 400, {"error": "not json"}
            answer = self.judge(path, query, body)
            self.answers.append(answer)
            if answer.get(self.ok_field) == 0:
                self.received.append(Received(body, time.monotonic()))
            return 200, answer

    def start(self) -> RobotServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if server.hang:
                    time.sleep(30)  # never answers within any client timeout here
                    return
                u = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
                status, answer = server.handle(u.path, query, raw, dict(self.headers.items()))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()


class WeComRobot(RobotServer):
    kind = "wecom"

    def path_for(self, token: str) -> str:
        return f"/cgi-bin/webhook/send?key={token}"

    def judge(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if path != "/cgi-bin/webhook/send" or query.get("key") != self.token:
            return {"errcode": 93000, "errmsg": "invalid webhook url, hint: key is invalid"}
        if self.throttled():
            return {"errcode": 45009, "errmsg": "api freq out of limit"}
        kind = body.get("msgtype")
        if kind == "text":
            content = body.get("text", {}).get("content", "")
            limit = 2048
        elif kind == "markdown":
            content = body.get("markdown", {}).get("content", "")
            limit = 4096
        else:
            return {"errcode": 40008, "errmsg": "invalid message type"}
        if not content:
            return {"errcode": 44004, "errmsg": "empty content"}
        if len(content.encode()) > limit:
            return {"errcode": 40058, "errmsg": "content exceed max length"}
        return {"errcode": 0, "errmsg": "ok"}


def dingtalk_expected(secret: str, timestamp: str) -> str:
    """The signature as DingTalk's documentation computes it (base64, before URL encoding)."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


class DingTalkRobot(RobotServer):
    kind = "dingtalk"

    def path_for(self, token: str) -> str:
        return f"/robot/send?access_token={token}"

    def judge(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if path != "/robot/send" or query.get("access_token") != self.token:
            return {"errcode": 300001, "errmsg": "token is not exist"}
        ts, sign = query.get("timestamp", ""), query.get("sign", "")
        if not ts.isdigit() or abs(self.now() * 1000 - int(ts)) > HOUR_S * 1000:
            return {"errcode": 310000, "errmsg": "sign not match, timestamp is expired"}
        # parse_qs already URL-decoded the query once, as DingTalk's server does
        if not hmac.compare_digest(sign, dingtalk_expected(self.secret, ts)):
            return {"errcode": 310000, "errmsg": "sign not match"}
        if self.throttled():
            return {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        if body.get("msgtype") not in ("text", "markdown", "link", "actionCard", "feedCard"):
            return {"errcode": 40035, "errmsg": "缺少参数 msgtype"}
        if body.get("msgtype") == "markdown":
            md = body.get("markdown", {})
            if not md.get("title") or not md.get("text"):
                return {"errcode": 40035, "errmsg": "缺少参数 markdown"}
        return {"errcode": 0, "errmsg": "ok"}


def feishu_expected(secret: str, timestamp: str) -> str:
    r"""Feishu's documented signature: HMAC-SHA256 keyed by "timestamp\nsecret" over b""."""
    mac = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


class FeishuRobot(RobotServer):
    kind = "feishu"
    ok_field = "code"

    def path_for(self, token: str) -> str:
        return f"/open-apis/bot/v2/hook/{token}"

    def judge(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if path != self.path_for(self.token):
            return {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
        if self.secret:
            ts, sign = str(body.get("timestamp", "")), str(body.get("sign", ""))
            if not ts.isdigit() or abs(self.now() - int(ts)) > HOUR_S:
                return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}
            if not hmac.compare_digest(sign, feishu_expected(self.secret, ts)):
                return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}
        if self.throttled():
            return {"code": 11232, "msg": "frequency limited psm"}
        if len(json.dumps(body, ensure_ascii=False).encode()) >= 20 * 1024:
            return {"code": 9499, "msg": "request body too large"}
        if body.get("msg_type") not in ("text", "post", "interactive", "share_chat", "image"):
            return {"code": 9499, "msg": "Bad Request"}
        return {"code": 0, "msg": "success", "data": {}}


class WebhookReceiver(RobotServer):
    """A GridWatch webhook receiver (services.notify.receiver.WebhookVerifier): a delivery is
    taken once, fresh and signed; anything else is answered 401 and not kept."""

    kind = "webhook"
    ok_field = "ok"

    def path_for(self, token: str) -> str:
        return f"/hooks/{token}"

    def judge(self, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        from services.notify.receiver import WebhookRejected, WebhookVerifier

        if not hasattr(self, "_verifier"):
            self._verifier = WebhookVerifier(self.secret)
        try:
            self._verifier.check(self.last_headers, self.last_raw)
        except WebhookRejected as e:
            return {"ok": 1, "error": str(e)}
        return {"ok": 0}
