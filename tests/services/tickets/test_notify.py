"""Notifications: signed webhooks with retry against a real local HTTP server, and MQTT ticket
events over the session's real Mosquitto."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.breach import Change
from domain.topics import tickets
from gridwatch.processes import Mosquitto
from services.db.engine import open_database
from services.db.models import DeliveryFailure
from services.notify.dispatcher import Dispatcher
from services.notify.mqtt import MqttChannel
from services.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookChannel, verify
from services.tickets.schemas import Notice
from services.tickets.service import TicketService
from tests.services.tickets.site import HOUR, T0, low_do, registry

SECRET = "s3cret-for-tests"


class Receiver(ThreadingHTTPServer):
    """Answers each POST with the next status from `plan` (then 200), keeping what came."""

    def __init__(self, plan: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.plan = plan
        self.got: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.got.append((dict(self.headers), body))
        status = self.server.plan.pop(0) if self.server.plan else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    """A local webhook receiver following the test's plan of status codes."""
    server = Receiver(list(request.param))
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()


def _opened(tmp_path: Path) -> tuple[TicketService, Notice]:
    engine = open_database(f"sqlite:///{tmp_path / 'gw.db'}")
    svc = TicketService(engine, registry())
    [n] = svc.apply(low_do(Change.RAISED, at=T0 + HOUR))
    return svc, n


@pytest.mark.parametrize("receiver", [[503, 500]], indirect=True)
async def test_webhook_is_signed_and_retried(receiver: Receiver, tmp_path: Path) -> None:
    svc, notice = _opened(tmp_path)
    async with WebhookChannel([receiver.url], SECRET, engine=svc.engine, backoff_s=0.01) as hook:
        await hook.send(notice)
    assert len(receiver.got) == 3  # 503, 500, then delivered
    headers, body = receiver.got[-1]
    assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert not verify("wrong", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
    assert json.loads(body)["ticket"]["id"] == notice.ticket.id
    assert (hook.sent, hook.retries, hook.failed) == (1, 2, 0)


@pytest.mark.parametrize("receiver", [[500, 500, 500], [404]], indirect=True)
async def test_failed_webhook_is_counted_and_recorded(receiver: Receiver, tmp_path: Path) -> None:
    svc, notice = _opened(tmp_path)
    async with WebhookChannel(
        [receiver.url], SECRET, engine=svc.engine, attempts=3, backoff_s=0.01
    ) as hook:
        await hook.send(notice)
    assert hook.failed == 1
    with Session(svc.engine) as s:
        [f] = s.scalars(select(DeliveryFailure)).all()
    assert f.ticket_id == notice.ticket.id
    assert f.event == "opened"
    assert f.error.startswith("HTTP")
    assert f.attempts == len(receiver.got)  # 404 is not retried; 500 is, up to 3 times


async def test_ticket_events_are_published_per_grid(mosquitto: Mosquitto, tmp_path: Path) -> None:
    svc, opened = _opened(tmp_path)
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as sub:
        await sub.subscribe(tickets("qp-g1"), qos=1)
        async with MqttChannel(mosquitto.url) as mqtt, Dispatcher([mqtt]) as dispatcher:
            dispatcher.submit([opened])
            # a comment is not worth a notification: it must not be published
            dispatcher.submit([svc.comment(opened.ticket.id, "li-ming", "x", None)])
            dispatcher.submit([svc.resolve(opened.ticket.id, "li-ming", "ok", None)])
            await dispatcher.join()
        got = []
        async with asyncio.timeout(5):
            async for msg in sub.messages:
                got.append((str(msg.topic), json.loads(bytes(msg.payload))))  # type: ignore[arg-type]
                if len(got) == 2:
                    break
    assert [(t, m["event"]) for t, m in got] == [
        ("gridwatch/tickets/qp-g1", "opened"),
        ("gridwatch/tickets/qp-g1", "resolved"),
    ]
    assert got[1][1]["ticket"]["status"] == "resolved"
    assert mqtt.sent == 2
