"""The InfluxDB writer adapter: line protocol over HTTP, with httpx's errors translated once,
here, into a small hierarchy that says whether a retry can help.

Two write APIs (contract §3): v1 `/write?db=&rp=&precision=ns` — InfluxDB 1.x natively, 2.x and
3.x through their v1 compatibility — and, by setting, `/api/v2/write?org=&bucket=` with
`Authorization: Token`. A token (sent as `Authorization: Token …`, which 2.x/3.x accept on v1
too) or a user/password (HTTP basic) are optional.

What a status means (reliability.md): a timeout is "unknown", not "failed", and retrying is safe
because a point with the same measurement, tags and device time overwrites itself; 5xx and
connection errors are retryable; 413 splits the batch in halves until it fits; a 400 on 1.x can
be a partial write — the good lines are stored, the refused ones are reported and never retried.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import httpx

from gateway.lineprotocol import body

Api = Literal["v1", "v2"]


class InfluxError(Exception):
    """A write or admin request that did not succeed. `retryable` says whether the same request
    may succeed later (it is idempotent for our points)."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class InfluxUnavailable(InfluxError):
    """Connection refused or reset, or a 5xx: InfluxDB is down or overloaded."""

    retryable = True


class InfluxTimeout(InfluxError):
    """No answer in time: the write may or may not have been stored; retrying is safe."""

    retryable = True


class InfluxRefused(InfluxError):
    """The request itself is wrong (auth, unknown database, bad query): retrying the same thing
    will not help until the configuration is fixed."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What a write stored. `refused` are lines InfluxDB would not take (a partial write);
    `refused_unknown` counts refusals it reported without naming the line (type conflicts)."""

    written: int
    refused: list[str] = field(default_factory=list)
    refused_unknown: int = 0
    messages: list[str] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return bool(self.refused) or self.refused_unknown > 0


_DROPPED = re.compile(r"dropped=(\d+)")


def _quote_ident(name: str) -> str:
    """An InfluxQL double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _duration(text: str) -> str:
    """A retention duration: INF or InfluxQL duration literal like 30d, 52w, 1h30m."""
    if text.upper() == "INF" or re.fullmatch(r"(\d+(ns|u|µ|ms|s|m|h|d|w))+", text):
        return text.upper() if text.upper() == "INF" else text
    raise ValueError(f"not an InfluxDB retention duration: {text!r} (use INF or e.g. 90d)")


class InfluxWriter:
    """Writes batches of lines; `async with InfluxWriter(...) as w: await w.write(lines)`."""

    def __init__(
        self,
        url: str,
        *,
        db: str = "gridwatch",
        rp: str = "",
        retention: str = "INF",
        api: Api = "v1",
        org: str = "",
        bucket: str = "",
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        create: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.db = db
        self.rp = rp
        self.retention = _duration(retention)
        self.api = api
        self.create = create and api == "v1"
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if token:
            headers["Authorization"] = f"Token {token}"
        auth = httpx.BasicAuth(user, password or "") if user and not token else None
        if api == "v2":
            self._path = "/api/v2/write"
            self._params = {"org": org, "bucket": bucket or db, "precision": "ns"}
        else:
            self._path = "/write"
            self._params = {"db": db, "precision": "ns"}
            if rp:
                self._params["rp"] = rp
        self._client = httpx.AsyncClient(
            base_url=self.url,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
        )

    async def __aenter__(self) -> InfluxWriter:
        if self.create:
            await self.ensure_database()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client.aclose()

    # -- administration -----------------------------------------------------------------------
    async def ensure_database(self) -> None:
        """CREATE DATABASE when missing and, when `rp` is set, a retention policy of
        `retention` (default INF: keep raw readings forever) made the database default, so
        plain queries read what we write. An existing policy is left as it is."""
        await self._query(f"CREATE DATABASE {_quote_ident(self.db)}")
        if not self.rp:
            return
        shown = await self._query(f"SHOW RETENTION POLICIES ON {_quote_ident(self.db)}")
        names = {row[0] for s in shown.get("series", []) for row in s.get("values") or []}
        if self.rp not in names:
            await self._query(
                f"CREATE RETENTION POLICY {_quote_ident(self.rp)} ON {_quote_ident(self.db)} "
                f"DURATION {self.retention} REPLICATION 1 DEFAULT"
            )

    async def _query(self, q: str) -> dict[str, Any]:
        response = await self._send(self._client.post("/query", params={"q": q}))
        if response.status_code != 200:
            raise self._status_error(response)
        try:
            results: dict[str, Any] = response.json()["results"][0]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise InfluxRefused(f"unexpected /query answer: {response.text[:200]}") from e
        if "error" in results:
            raise InfluxRefused(f"{q}: {results['error']}")
        return results

    # -- writing ------------------------------------------------------------------------------
    async def write(self, lines: Sequence[str]) -> WriteResult:
        """Write lines; raises InfluxError when nothing can be said to be stored."""
        if not lines:
            return WriteResult(0)
        response = await self._send(
            self._client.post(self._path, params=self._params, content=body(lines))
        )
        status = response.status_code
        if status == 204 or status == 200:
            return WriteResult(len(lines))
        if status == 413:
            if len(lines) == 1:
                return WriteResult(0, refused=list(lines), messages=["413: line too large"])
            half = len(lines) // 2
            first, second = await self.write(lines[:half]), await self.write(lines[half:])
            return WriteResult(
                first.written + second.written,
                first.refused + second.refused,
                first.refused_unknown + second.refused_unknown,
                first.messages + second.messages,
            )
        if status in (400, 422):
            return self._partial(lines, response)
        raise self._status_error(response)

    def _partial(self, lines: Sequence[str], response: httpx.Response) -> WriteResult:
        """A 400 (1.x) or 422 (2.x): some or all lines refused; the rest are stored."""
        try:
            message = str(response.json().get("error") or response.json().get("message"))
        except ValueError:
            message = response.text
        refused = [line for line in lines if f"unable to parse '{line}'" in message]
        dropped = [int(n) for n in _DROPPED.findall(message)]
        unknown = max(sum(dropped) - len(refused), 0) if dropped else 0
        if not refused and not dropped:
            # Nothing identifies the culprits: count the whole batch as refused.
            refused = list(lines)
        return WriteResult(len(lines) - len(refused) - unknown, refused, unknown, [message[:1000]])

    async def _send(self, request: Awaitable[httpx.Response]) -> httpx.Response:
        try:
            return await request
        except httpx.TimeoutException as e:
            raise InfluxTimeout(f"InfluxDB at {self.url} did not answer in time: {e!r}") from e
        except httpx.TransportError as e:
            raise InfluxUnavailable(f"InfluxDB at {self.url} unreachable: {e!r}") from e

    def _status_error(self, response: httpx.Response) -> InfluxError:
        status = response.status_code
        text = response.text[:500]
        if status >= 500 or status == 429:
            return InfluxUnavailable(f"InfluxDB answered {status}: {text}", status=status)
        return InfluxRefused(f"InfluxDB answered {status}: {text}", status=status)
