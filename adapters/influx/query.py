"""An async InfluxQL client over InfluxDB's `/query` endpoint (1.x natively, 2.x through its
v1-compatible API, 3.x natively).

One `httpx.AsyncClient` per `InfluxQuery` (made by `adapters.influx.http`), opened and closed
by `async with`. Read statements (SELECT, SHOW) go out as GET and everything else as POST, as
InfluxDB asks — except reads too long for a URL (`MAX_GET_QUERY`), which go as POST. Every
failure is translated here into `adapters.influx.errors`, chained with `from`. The writer runs
its administration statements through the same `execute`.

    async with InfluxQuery("http://127.0.0.1:8086", "gridwatch") as influx:
        rows = await influx.query(
            'SELECT last("do") FROM "pond" WHERE "sensor" = $sensor', {"sensor": "pond-qp-01"}
        )

`params` are InfluxQL bound parameters (`$name`), sent apart from the query text; use them, or
`quoting.ident`/`quoting.string`, for anything a request supplied.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from adapters.influx.errors import InfluxError, InfluxQueryError, InfluxRefused, status_error
from adapters.influx.http import open_client, safe_url, send

Epoch = Literal["ns", "u", "ms", "s"]
Scalar = str | int | float | bool | None
ParamValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Series:
    """One series of one statement's result: `name` is the measurement (or `measurements`,
    `databases`, ... for SHOW), `tags` the GROUP BY tag values, `values` rows in `columns`
    order. With the default epoch the `time` column holds integer nanoseconds."""

    name: str
    columns: tuple[str, ...]
    values: tuple[tuple[Scalar, ...], ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    statement: int = 0

    def rows(self) -> Iterator[dict[str, Scalar]]:
        """Each row as a column -> value mapping."""
        for row in self.values:
            yield dict(zip(self.columns, row, strict=False))

    def column(self, name: str) -> list[Scalar]:
        """All values of one column (KeyError when the series has no such column)."""
        try:
            i = self.columns.index(name)
        except ValueError:
            raise KeyError(name) from None
        return [row[i] for row in self.values]


MAX_GET_QUERY = 4_096
"""Longest URL-encoded query string sent in a GET. Longer reads — a site-wide query naming every
sensor of a kind — go as POST with a form body, which InfluxDB (1.x and the v1 API of 2.x/3.x)
reads the same way: a URL is bounded (InfluxDB 1.x refuses request headers past 1 MB, about
20,000 sensor ids; proxies often at 8 KiB) and a body is not. Short reads stay GET, as
InfluxDB's documentation asks, so they can pass read-only proxies and read well in logs."""


def _is_read(q: str) -> bool:
    head = q.lstrip().upper()
    return head.startswith(("SELECT", "SHOW")) and " INTO " not in head


def _parse(payload: Any) -> list[Series]:
    """The JSON body of /query as Series; statement errors become InfluxQueryError."""
    if not isinstance(payload, dict):
        raise InfluxRefused("InfluxDB answered with something that is not a JSON object")
    if "error" in payload:
        raise InfluxQueryError(str(payload["error"]))
    out: list[Series] = []
    for result in payload.get("results") or []:
        sid = int(result.get("statement_id", 0))
        if "error" in result:
            raise InfluxQueryError(str(result["error"]), statement=sid)
        for s in result.get("series") or []:
            out.append(
                Series(
                    name=str(s.get("name", "")),
                    columns=tuple(s.get("columns") or ()),
                    values=tuple(tuple(v) for v in s.get("values") or ()),
                    tags=dict(s.get("tags") or {}),
                    statement=sid,
                )
            )
    return out


def _result(r: httpx.Response) -> list[Series]:
    if r.status_code in (401, 403, 429) or r.status_code >= 500:
        raise status_error(r)
    try:
        payload = r.json()
    except ValueError as e:
        raise status_error(r, "an answer without JSON") from e
    if r.status_code >= 400:
        message = payload.get("error") if isinstance(payload, dict) else None
        raise InfluxQueryError(
            f"InfluxDB answered {r.status_code}: {message or r.reason_phrase}", status=r.status_code
        )
    return _parse(payload)


async def execute(
    client: httpx.AsyncClient,
    q: str,
    *,
    db: str = "",
    params: Mapping[str, ParamValue] | None = None,
    epoch: Epoch = "ns",
) -> list[Series]:
    """Run one or more `;`-separated statements on an open client; every series they produced.

    `db=""` runs without a database (for CREATE DATABASE and SHOW DATABASES)."""
    args: dict[str, str] = {"q": q, "epoch": epoch}
    if db:
        args["db"] = db
    if params:
        args["params"] = json.dumps(dict(params))
    where = safe_url(str(client.base_url))
    if _is_read(q) and len(str(httpx.QueryParams(args))) <= MAX_GET_QUERY:
        r = await send(client.get("/query", params=args), where)
    else:
        r = await send(client.post("/query", data=args), where)
    return _result(r)


@dataclass(frozen=True, slots=True)
class InfluxTarget:
    """What it takes to open the same InfluxQuery elsewhere, e.g. in a child process (a rule
    dry-run): plain and picklable, unlike an open client."""

    url: str
    db: str
    token: str | None = None
    user: str | None = None
    password: str | None = None
    timeout: float = 10.0

    def open(self) -> InfluxQuery:
        return InfluxQuery(
            self.url, self.db, self.token, self.user, self.password, timeout=self.timeout
        )


class InfluxQuery:
    """An InfluxQL client bound to one server and database.

    Credentials: `token` is sent as `Authorization: Token ...` (InfluxDB 2.x/3.x v1 API),
    `user`/`password` as HTTP basic auth (1.x with auth enabled).
    """

    def __init__(
        self,
        url: str,
        db: str,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.db = db
        self.target = InfluxTarget(self.url, db, token, user, password, timeout)
        self._open_args: dict[str, Any] = {
            "token": token,
            "user": user,
            "password": password,
            "timeout": timeout,
            "headers": {"Accept": "application/json"},
            "transport": transport,
        }
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Self:
        self._client = open_client(self.url, **self._open_args)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def query(
        self,
        q: str,
        params: Mapping[str, ParamValue] | None = None,
        *,
        db: str | None = None,
        epoch: Epoch = "ns",
    ) -> list[Series]:
        """Run one or more `;`-separated statements and return every series they produced.

        `db=""` runs without a database (for CREATE DATABASE and SHOW DATABASES)."""
        if self._client is None:
            raise InfluxError("InfluxQuery used outside `async with`")
        return await execute(
            self._client, q, db=self.db if db is None else db, params=params, epoch=epoch
        )

    async def ping(self) -> bool:
        """True when the server answers /ping."""
        if self._client is None:
            raise InfluxError("InfluxQuery used outside `async with`")
        try:
            r = await self._client.get("/ping")
        except httpx.HTTPError:
            return False
        return r.status_code == 204
