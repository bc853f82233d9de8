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
InfluxDB 1.x names the refused line only for parse errors (a field type conflict just says
`dropped=N`, and a parse error next to a conflict is not mentioned at all), so a refused batch
is bisected — resending a half is idempotent — until each refused line is known with its error.
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

    @property
    def error_class(self) -> str:
        """A small fixed label for metrics and health: timeout, unavailable, http_5xx, refused."""
        if isinstance(self, InfluxTimeout):
            return "timeout"
        if isinstance(self, InfluxUnavailable):
            return "unavailable" if self.status is None else "http_5xx"
        return "refused"


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
    """What a write stored. `refused` are the lines InfluxDB would not take (a partial write),
    each with its error; `splits` counts the 413 halvings it took."""

    written: int
    refused: list[tuple[str, str]] = field(default_factory=list)
    splits: int = 0

    @property
    def partial(self) -> bool:
        return bool(self.refused)

    def __add__(self, other: WriteResult) -> WriteResult:
        return WriteResult(
            self.written + other.written, self.refused + other.refused, self.splits + other.splits
        )


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
        max_isolation_requests: int = 2_000,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.db = db
        self.rp = rp
        self.retention = _duration(retention)
        self.api = api
        self.create = create and api == "v1"
        self.max_isolation_requests = max_isolation_requests
        self._setup_pending = False
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
        """Create the database now if InfluxDB answers; if it is down, the gateway still starts
        (its spool takes the readings) and the setup is retried before the first write."""
        if self.create:
            try:
                await self.ensure_database()
            except InfluxError as e:
                if not e.retryable:
                    raise
                self._setup_pending = True
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
        if self._setup_pending:
            await self.ensure_database()
            self._setup_pending = False
        budget = [self.max_isolation_requests]
        return await self._write(lines, budget)

    async def _write(self, lines: Sequence[str], budget: list[int]) -> WriteResult:
        response = await self._send(
            self._client.post(self._path, params=self._params, content=body(lines))
        )
        status = response.status_code
        if status == 204 or status == 200:
            return WriteResult(len(lines))
        if status == 413:
            if len(lines) == 1:
                return WriteResult(0, [(lines[0], "413: line larger than max-body-size")])
            half = len(lines) // 2
            first = await self._write(lines[:half], budget)
            second = await self._write(lines[half:], budget)
            return WriteResult(0, splits=1) + first + second
        if status in (400, 422):
            message = _error_text(response)
            if len(lines) == 1 or budget[0] <= 0:
                # One line: it is the culprit. Out of budget: report the chunk as refused (its
                # good lines are stored all the same; the dead letters then over-report).
                return WriteResult(0, [(line, message) for line in lines])
            budget[0] -= 2
            half = len(lines) // 2
            return await self._write(lines[:half], budget) + await self._write(lines[half:], budget)
        raise self._status_error(response)

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


def _error_text(response: httpx.Response) -> str:
    """The `error` (1.x) or `message` (2.x) of a refused write, else its body."""
    try:
        parsed = response.json()
    except ValueError:
        return response.text[:1000]
    if isinstance(parsed, dict):
        return str(parsed.get("error") or parsed.get("message") or parsed)[:1000]
    return response.text[:1000]
