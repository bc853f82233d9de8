"""How the InfluxDB writer classifies answers it cannot get from a healthy InfluxDB on demand
(5xx, timeouts, refused connections, bad credentials). Partial writes and 413 run against a
real InfluxDB in tests/integration/test_faults_influx.py."""

from __future__ import annotations

import httpx
import pytest

from adapters.influx.errors import InfluxError, InfluxRefused, InfluxTimeout, InfluxUnavailable
from adapters.influx.writer import InfluxWriter
from tests.harness import free_port

LINES = ["pond,sensor=a do=1.0 1", "pond,sensor=b do=2.0 1"]


def writer(handler: httpx.MockTransport) -> InfluxWriter:
    return InfluxWriter("http://influx.test", create=False, transport=handler)


async def classify(status: int) -> InfluxError:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, text="boom"))
    async with writer(transport) as w:
        with pytest.raises(InfluxError) as caught:
            await w.write(LINES)
    return caught.value


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_are_retryable(status: int) -> None:
    e = await classify(status)
    assert isinstance(e, InfluxUnavailable)
    assert (e.retryable, e.error_class, e.status) == (True, "http_5xx", status)


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_request_errors_are_not_retried_live(status: int) -> None:
    e = await classify(status)
    assert isinstance(e, InfluxRefused)
    assert (e.retryable, e.error_class) == (False, "refused")


async def test_a_timeout_is_retryable_and_says_so() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    async with writer(httpx.MockTransport(hang)) as w:
        with pytest.raises(InfluxTimeout) as caught:
            await w.write(LINES)
    assert (caught.value.retryable, caught.value.error_class) == (True, "timeout")


async def test_nobody_listening_is_unavailable() -> None:
    async with InfluxWriter(f"http://127.0.0.1:{free_port()}", create=False, timeout=2) as w:
        with pytest.raises(InfluxUnavailable) as caught:
            await w.write(LINES)
    assert caught.value.error_class == "unavailable"


async def test_a_writer_starts_while_influx_is_down_and_sets_up_on_first_write() -> None:
    seen: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if len(seen) == 1:
            raise httpx.ConnectError("down", request=request)
        if request.url.path == "/query":
            return httpx.Response(200, json={"results": [{"statement_id": 0}]})
        return httpx.Response(204)

    async with InfluxWriter("http://influx.test", transport=httpx.MockTransport(server)) as w:
        result = await w.write(LINES)
    assert result.written == 2
    assert seen == ["/query", "/query", "/write"]


async def test_a_refused_batch_is_bisected_until_only_the_bad_line_is_reported() -> None:
    bad = 'pond,sensor=c do="x" 1'

    def server(request: httpx.Request) -> httpx.Response:
        if bad.encode() in request.content:
            return httpx.Response(
                400, json={"error": "partial write: field type conflict dropped=1"}
            )
        return httpx.Response(204)

    lines = [*LINES, bad, "pond,sensor=d do=3.0 1"]
    async with writer(httpx.MockTransport(server)) as w:
        result = await w.write(lines)
    assert result.written == 3
    assert result.refused == [(bad, "partial write: field type conflict dropped=1")]
