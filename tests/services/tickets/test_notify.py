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
from services.db.engine import open_database
from services.db.models import DeliveryFailure
from services.notify.dispatcher import Dispatcher
from services.notify.mqtt import MqttChannel
from services.notify.receiver import WebhookRejected, WebhookReplayed, WebhookVerifier
from services.notify.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookChannel,
    sign,
)
from services.tickets.schemas import Notice
from services.tickets.service import TicketService
from tests.harness import Mosquitto
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
    assert WebhookVerifier(SECRET).check(headers, body) == headers[DELIVERY_HEADER]
    with pytest.raises(WebhookRejected, match="bad signature"):
        WebhookVerifier("wrong").check(headers, body)
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
            dispatcher.submit([svc.actions.comment(opened.ticket.id, "li-ming", "x", None)])
            dispatcher.submit([svc.actions.resolve(opened.ticket.id, "li-ming", "ok", None)])
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


class _Hanging(BaseHTTPRequestHandler):
    """A webhook receiver that takes the request and never answers (until the test ends)."""

    server: HangingReceiver

    def do_POST(self) -> None:
        self.server.posts += 1
        self.server.release.wait(60)

    def log_message(self, *args: object) -> None:
        pass


class HangingReceiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hanging)
        self.release = threading.Event()
        self.posts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def hanging() -> Iterator[HangingReceiver]:
    server = HangingReceiver()
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


async def test_a_hanging_webhook_does_not_hold_back_mqtt_notices(
    mosquitto: Mosquitto, hanging: HangingReceiver, tmp_path: Path
) -> None:
    """Each channel has its own lane: with the webhook stuck in its (real, 5 s) timeout and
    retries, every MQTT notice still goes out at once."""
    svc, opened = _opened(tmp_path)
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as sub:
        await sub.subscribe(tickets("qp-g1"), qos=1)
        async with (
            WebhookChannel([hanging.url], SECRET, engine=svc.engine) as hook,
            MqttChannel(mosquitto.url) as mqtt,
            Dispatcher([hook, mqtt], drain_s=0.1) as dispatcher,
        ):
            dispatcher.submit([opened])
            dispatcher.submit([svc.actions.resolve(opened.ticket.id, "li-ming", "ok", None)])
            [again] = svc.apply(low_do(Change.RAISED, at=T0 + 2 * HOUR))
            dispatcher.submit([again])
            got = []
            async with asyncio.timeout(3):
                async for msg in sub.messages:
                    got.append(json.loads(bytes(msg.payload))["event"])  # type: ignore[arg-type]
                    if len(got) == 3:
                        break
            assert got == ["opened", "resolved", "opened"]
            assert hanging.posts == 1  # the webhook is still waiting on its first notice
            assert hook.sent == 0


@pytest.mark.parametrize("receiver", [[503, 500]], indirect=True)
async def test_a_receiver_takes_each_delivery_once_and_fresh(
    receiver: Receiver, tmp_path: Path
) -> None:
    """Retries of one delivery carry its one id, so the receiver takes it once; a captured
    request replayed (inside the window or after it) or altered is refused."""
    svc, notice = _opened(tmp_path)
    async with WebhookChannel([receiver.url], SECRET, engine=svc.engine, backoff_s=0.01) as hook:
        await hook.send(notice)
        await hook.send(notice)  # the same notice again is a new delivery
    first, retry, last, again = receiver.got
    assert first[0][DELIVERY_HEADER] == retry[0][DELIVERY_HEADER] == last[0][DELIVERY_HEADER]
    assert again[0][DELIVERY_HEADER] != first[0][DELIVERY_HEADER]

    v = WebhookVerifier(SECRET)
    assert v.check(*first) == first[0][DELIVERY_HEADER]
    for seen in (first, retry, last):  # a replay, or a retry of what already arrived
        with pytest.raises(WebhookReplayed):
            v.check(*seen)
    assert v.check(*again) == again[0][DELIVERY_HEADER]

    headers, body = again
    sent_at = int(headers[TIMESTAMP_HEADER])
    for skew in (-301, 301):  # captured and replayed later, or stamped ahead
        late = WebhookVerifier(SECRET, clock=lambda skew=skew: sent_at + skew)
        with pytest.raises(WebhookRejected, match="off"):
            late.check(headers, body)
    fresh = WebhookVerifier(SECRET)
    for forged in (
        (headers, body.replace(b'"opened"', b'"resolved"')),
        ({**headers, DELIVERY_HEADER: "0" * 32}, body),  # a new id to slip past the dedupe
        ({**headers, TIMESTAMP_HEADER: str(sent_at + 1)}, body),
        ({k: v for k, v in headers.items() if k != DELIVERY_HEADER}, body),
    ):
        with pytest.raises(WebhookRejected) as e:
            fresh.check(*forged)
        assert not isinstance(e.value, WebhookReplayed)


def test_a_receiver_forgets_old_ids_within_its_bounds() -> None:
    now = [1_000_000.0]
    v = WebhookVerifier(SECRET, remember_s=60, max_ids=3, clock=lambda: now[0])

    def delivery(i: int) -> tuple[dict[str, str], bytes]:
        ts, d, body = str(int(now[0])), f"{i:032x}", b"{}"
        return {
            TIMESTAMP_HEADER: ts,
            DELIVERY_HEADER: d,
            SIGNATURE_HEADER: sign(SECRET, ts, d, body),
        }, body

    for i in range(5):
        v.check(*delivery(i))
    assert len(v._seen) == 3  # bounded: the oldest are forgotten
    with pytest.raises(WebhookReplayed):
        v.check(*delivery(4))
