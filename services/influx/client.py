"""An async InfluxQL client over InfluxDB's `/query` endpoint (1.x natively, 2.x through its
v1-compatible API, 3.x natively).

One `httpx.AsyncClient` per `InfluxQuery`, opened and closed by `async with`. Read statements
(SELECT, SHOW) go out as GET and everything else as POST, as InfluxDB asks. Every failure is
translated here into `services.influx.errors`, chained with `from`.

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

from services.influx.errors import InfluxAuthError, InfluxError, InfluxQueryError, InfluxUnavailable

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


def _is_read(q: str) -> bool:
    head = q.lstrip().upper()
    return head.startswith(("SELECT", "SHOW")) and " INTO " not in head


def _parse(payload: Any) -> list[Series]:
    """The JSON body of /query as Series; statement errors become InfluxQueryError."""
    if not isinstance(payload, dict):
        raise InfluxError("InfluxDB answered with something that is not a JSON object")
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
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        auth = httpx.BasicAuth(user, password or "") if user else None
        self._client_args: dict[str, Any] = {
            "base_url": self.url,
            "headers": headers,
            "auth": auth,
            "timeout": timeout,
            "transport": transport,
        }
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Self:
        self._client = httpx.AsyncClient(**self._client_args)
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
        args: dict[str, str] = {"q": q, "epoch": epoch}
        target_db = self.db if db is None else db
        if target_db:
            args["db"] = target_db
        if params:
            args["params"] = json.dumps(dict(params))
        try:
            if _is_read(q):
                r = await self._client.get("/query", params=args)
            else:
                r = await self._client.post("/query", data=args)
        except httpx.TimeoutException as e:
            raise InfluxUnavailable(f"InfluxDB at {self.url} timed out") from e
        except httpx.HTTPError as e:
            raise InfluxUnavailable(f"InfluxDB at {self.url} is unreachable: {e}") from e
        return self._result(r)

    def _result(self, r: httpx.Response) -> list[Series]:
        if r.status_code in (401, 403):
            raise InfluxAuthError(
                f"InfluxDB refused the credentials ({r.status_code})", status=r.status_code
            )
        if r.status_code >= 500:
            raise InfluxUnavailable(f"InfluxDB answered {r.status_code}", status=r.status_code)
        try:
            payload = r.json()
        except ValueError as e:
            raise InfluxError(
                f"InfluxDB answered {r.status_code} without JSON", status=r.status_code
            ) from e
        if r.status_code >= 400:
            message = payload.get("error") if isinstance(payload, dict) else None
            raise InfluxQueryError(str(message or r.reason_phrase), status=r.status_code)
        return _parse(payload)

    async def ping(self) -> bool:
        """True when the server answers /ping."""
        if self._client is None:
            raise InfluxError("InfluxQuery used outside `async with`")
        try:
            r = await self._client.get("/ping")
        except httpx.HTTPError:
            return False
        return r.status_code == 204
