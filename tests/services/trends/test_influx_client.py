"""The InfluxQL client against a real InfluxDB: typed results, errors translated, quoting that
survives hostile text."""

from __future__ import annotations

import httpx
import pytest

from adapters.influx.errors import InfluxQueryError, InfluxUnavailable
from adapters.influx.query import InfluxQuery
from adapters.influx.quoting import duration, ident, seconds, string
from tests.services.trends.conftest import Write

T0 = 1_700_000_000 * 10**9


async def test_select_returns_typed_series_with_ns_times(influx: InfluxQuery, write: Write) -> None:
    await write([f"pond,sensor=p-1,grid=g1 do=5.5,seq=3i {T0}"])
    (s,) = await influx.query('SELECT "do", "seq", "grid" FROM "pond"')
    assert s.name == "pond"
    assert list(s.rows()) == [{"time": T0, "do": 5.5, "seq": 3, "grid": "g1"}]
    assert s.column("do") == [5.5]
    with pytest.raises(KeyError):
        s.column("nope")


async def test_bound_parameters_and_group_by_tags(influx: InfluxQuery, write: Write) -> None:
    await write([f"pond,sensor=p-1 do=1 {T0}", f"pond,sensor=p-2 do=2 {T0}"])
    out = await influx.query(
        'SELECT last("do") FROM "pond" WHERE "sensor" = $s GROUP BY "sensor"', {"s": "p-2"}
    )
    assert [(s.tags["sensor"], s.column("last")) for s in out] == [("p-2", [2.0])]


@pytest.mark.parametrize(
    "hostile", ["p'1", 'p"1', "p\\1", "a\nb", "x' OR '1'='1", "\\'; DROP DATABASE x; --"]
)
async def test_quoted_literals_match_exactly_and_never_inject(
    influx: InfluxQuery, write: Write, hostile: str
) -> None:
    await write([f"pond,sensor=ok do=1 {T0}"])
    where = f'"sensor" = {string(hostile)}'
    assert await influx.query(f'SELECT "do" FROM {ident("pond")} WHERE {where}') == []  # noqa: S608 - quoted
    assert await influx.query(f"SELECT {ident(hostile)} FROM {ident('pond')}") == []  # noqa: S608 - quoted


async def test_quoted_literal_matches_a_tag_with_quotes(influx: InfluxQuery, write: Write) -> None:
    tag = 'it\'s "x"'
    await write(['pond,sensor=it\'s\\ "x" do=7 ' + str(T0)])
    where = f'"sensor" = {string(tag)}'
    (s,) = await influx.query(f'SELECT "do" FROM "pond" WHERE {where}')  # noqa: S608 - quoted
    assert s.column("do") == [7.0]


async def test_multiple_statements_are_numbered(influx: InfluxQuery, write: Write) -> None:
    await write([f"pond,sensor=a do=1 {T0}", f"sewer,sensor=b fill=0.5 {T0}"])
    out = await influx.query('SELECT count("do") FROM "pond"; SHOW MEASUREMENTS')
    assert [(s.statement, s.name) for s in out] == [(0, "pond"), (1, "measurements")]
    assert out[1].column("name") == ["pond", "sewer"]


async def test_syntax_error_is_a_query_error(influx: InfluxQuery) -> None:
    with pytest.raises(InfluxQueryError) as e:
        await influx.query("SELEC x")
    assert not e.value.retryable


async def test_statement_error_names_the_statement(influx: InfluxQuery) -> None:
    with pytest.raises(InfluxQueryError) as e:
        await influx.query('SHOW MEASUREMENTS; SELECT * FROM "x"', db="no_such_db")
    assert "database not found" in str(e.value)


async def test_unreachable_server_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with InfluxQuery("http://127.0.0.1:9", "x", transport=httpx.MockTransport(refuse)) as q:
        with pytest.raises(InfluxUnavailable) as e:
            await q.query("SHOW DATABASES")
        assert e.value.retryable
        assert not await q.ping()


async def test_credentials_are_sent() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": [{"statement_id": 0}]})

    t = httpx.MockTransport(record)
    async with InfluxQuery("http://h", "d", token="tok", transport=t) as q:
        await q.query("SHOW DATABASES")
    async with InfluxQuery("http://h", "d", user="u", password="pw", transport=t) as q:
        await q.query('CREATE DATABASE "d"')
    assert seen[0].headers["authorization"] == "Token tok"
    assert seen[0].method == "GET"
    assert seen[1].headers["authorization"].startswith("Basic ")
    assert seen[1].method == "POST"


def test_durations_are_checked() -> None:
    assert duration("1h") == "1h"
    assert seconds(300) == "300s"
    for bad in ["1h; DROP", "0s", "h", "-1h"]:
        with pytest.raises(ValueError, match="duration"):
            duration(bad)
    with pytest.raises(ValueError, match="empty"):
        ident("")
