"""The one client construction: credentials travel in headers, never in a URL, whatever the
configured address holds, and error messages name the server without them."""

from __future__ import annotations

import base64

import httpx
import pytest

from adapters.influx.errors import InfluxTimeout, InfluxUnavailable
from adapters.influx.http import open_client, safe_url, send
from adapters.influx.query import InfluxQuery
from adapters.influx.writer import InfluxWriter


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "url",
    ["http://reader:pw-s3cret@influx.test:8086", "http://influx.test:8086/?u=reader&p=pw-s3cret"],
)
async def test_credentials_in_the_address_move_into_the_auth_header(url: str) -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": [{"statement_id": 0}]})

    t = httpx.MockTransport(record)
    async with InfluxQuery(url, "d", transport=t) as q:
        await q.query("SHOW DATABASES")
    async with InfluxWriter(url, db="d", transport=t) as w:
        await w.write(["pond,sensor=a do=1 1"])
    assert len(seen) == 3
    for request in seen:
        assert "pw-s3cret" not in str(request.url)
        assert "reader" not in str(request.url)
        assert request.headers["authorization"] == _basic("reader", "pw-s3cret")


async def test_a_token_wins_over_a_user() -> None:
    seen: list[httpx.Request] = []
    t = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(204))
    async with open_client("http://h", token="tok", user="u", password="p", transport=t) as c:
        await c.get("/ping")
    assert seen[0].headers["authorization"] == "Token tok"


def test_safe_url_keeps_only_scheme_host_port_and_path() -> None:
    assert (
        safe_url("http://u:pw@h.example:8086/influx/?u=x&p=y#f") == "http://h.example:8086/influx"
    )
    assert safe_url("https://h.example") == "https://h.example"


async def test_transport_errors_name_the_server_without_credentials() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    url = "http://reader:pw-s3cret@influx.test:8086"
    for handler, error in ((hang, InfluxTimeout), (refuse, InfluxUnavailable)):
        async with open_client(url, transport=httpx.MockTransport(handler)) as c:
            with pytest.raises(error) as caught:
                await send(c.get("/ping"), safe_url(url))
        assert "http://influx.test:8086" in str(caught.value)
        assert "pw-s3cret" not in str(caught.value)
    assert issubclass(InfluxTimeout, InfluxUnavailable)  # a timeout counts the same everywhere


async def test_a_read_too_long_for_a_url_is_posted_as_a_form() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": [{"statement_id": 0}]})

    ors = " OR ".join(f"\"sensor\" = 's{i}'" for i in range(500))
    long_q = f"SELECT * FROM pond WHERE {ors}"  # noqa: S608 - fixed text
    async with InfluxQuery("http://h", "d", transport=httpx.MockTransport(record)) as q:
        await q.query('SELECT "do" FROM pond')
        await q.query(long_q)
    short, long = seen
    assert (short.method, short.url.params["q"]) == ("GET", 'SELECT "do" FROM pond')
    assert long.method == "POST"
    assert long.url.query == b""
    assert httpx.QueryParams(long.content.decode())["q"] == long_q
    assert long.headers["content-type"] == "application/x-www-form-urlencoded"
