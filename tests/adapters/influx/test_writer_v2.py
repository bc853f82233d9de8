"""The v2 write API, by setting: InfluxDB 2.x/3.x's `/api/v2/write` with a token. Debian ships
no 2.x server, so this checks the request the writer makes at the HTTP seam (httpx's
MockTransport), the same request a 2.x server would get."""

from __future__ import annotations

import httpx

from adapters.influx.writer import InfluxWriter


async def test_v2_writes_to_the_bucket_with_a_token_and_ns_precision() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    async with InfluxWriter(
        "http://influx.example:8086",
        api="v2",
        org="district-7",
        bucket="gridwatch/raw",
        token="s3cret",
        transport=httpx.MockTransport(answer),
    ) as writer:
        result = await writer.write(["pond,sensor=pond-qp-01 do=5.8 1764144000000000000"])

    assert result.written == 1
    (request,) = [r for r in seen if r.url.path == "/api/v2/write"]
    assert dict(request.url.params) == {
        "org": "district-7",
        "bucket": "gridwatch/raw",
        "precision": "ns",
    }
    assert request.headers["Authorization"] == "Token s3cret"
    assert request.content == b"pond,sensor=pond-qp-01 do=5.8 1764144000000000000"
    assert not [r for r in seen if r.url.path == "/query"], "v2 has no CREATE DATABASE"


async def test_v1_with_a_token_sends_it_too_for_2x_compatibility() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/query":  # what InfluxDB 1.x answers a CREATE DATABASE
            return httpx.Response(200, json={"results": [{"statement_id": 0}]})
        return httpx.Response(204)

    async with InfluxWriter(
        "http://influx.example:8086",
        db="gridwatch",
        token="s3cret",
        transport=httpx.MockTransport(answer),
    ) as writer:
        await writer.write(["pond,sensor=pond-qp-01 do=5.8 1764144000000000000"])
    write = next(r for r in seen if r.url.path == "/write")
    assert write.url.params["db"] == "gridwatch"
    assert write.headers["Authorization"] == "Token s3cret"
