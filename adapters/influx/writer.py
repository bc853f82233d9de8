"""The InfluxDB writer: batches of line protocol (`adapters.influx.lineprotocol`) over HTTP,
each answer translated into `adapters.influx.errors`, whose `retryable` says whether a retry
can help. Its client comes from `adapters.influx.http`; its administration statements (create
the database and retention policy) run through `adapters.influx.query.execute`.

Two write APIs (contract §3): v1 `/write?db=&rp=&precision=ns` — InfluxDB 1.x natively, 2.x and
3.x through their v1 compatibility — and, by setting, `/api/v2/write?org=&bucket=` with
`Authorization: Token`. A token or a user/password are optional (see `http.open_client`).

What a status means (reliability.md): a timeout is "unknown", not "failed", and retrying is safe
because a point with the same measurement, tags and device time overwrites itself; 5xx and
connection errors are retryable; 413 splits the batch in halves until it fits; a 400 on 1.x can
be a partial write — the good lines are stored, the refused ones are reported and never retried.
InfluxDB 1.x names the refused line only for parse errors (a field type conflict just says
`dropped=N`, and a parse error next to a conflict is not mentioned at all), so a refused batch
is bisected — resending a half is idempotent — until each refused line is known with its error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

import httpx

from adapters.influx.errors import InfluxError, status_error
from adapters.influx.http import open_client, safe_url, send
from adapters.influx.lineprotocol import body
from adapters.influx.query import Series, execute
from adapters.influx.quoting import ident
from domain.duration import Retention

Api = Literal["v1", "v2"]
_LINE_PROTOCOL = {"Content-Type": "text/plain; charset=utf-8"}


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


class InfluxWriter:
    """Writes batches of lines; `async with InfluxWriter(...) as w: await w.write(lines)`."""

    def __init__(
        self,
        url: str,
        *,
        db: str = "gridwatch",
        rp: str = "",
        retention: Retention | str = "INF",
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
        self.retention = Retention.parse(retention)
        # Quoted now, so a name InfluxQL cannot express is a ValueError at start-up, not later.
        self._db_q = ident(db)
        self._rp_q = ident(rp) if rp else ""
        self.api = api
        self.create = create and api == "v1"
        self.max_isolation_requests = max_isolation_requests
        self._setup_pending = False
        self._where = safe_url(self.url)
        if api == "v2":
            self._path = "/api/v2/write"
            self._params = {"org": org, "bucket": bucket or db, "precision": "ns"}
        else:
            self._path = "/write"
            self._params = {"db": db, "precision": "ns"}
            if rp:
                self._params["rp"] = rp
        self._client = open_client(
            self.url,
            token=token,
            user=user,
            password=password,
            timeout=timeout,
            max_connections=4,
            transport=transport,
        )

    async def __aenter__(self) -> InfluxWriter:
        """Create the database now if InfluxDB answers; if it is down, the gateway still starts
        (its spool takes the readings) and the setup is retried before the first write. A
        refusal (bad credentials or name) closes the client: no `__aexit__` follows a raise."""
        if self.create:
            try:
                await self.ensure_database()
            except InfluxError as e:
                if not e.retryable:
                    await self._client.aclose()
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
        await self._query(f"CREATE DATABASE {self._db_q}")
        if not self.rp:
            return
        shown = await self._query(f"SHOW RETENTION POLICIES ON {self._db_q}")
        names = {row.get("name") for s in shown for row in s.rows()}
        if self.rp not in names:
            await self._query(
                f"CREATE RETENTION POLICY {self._rp_q} ON {self._db_q} "
                f"DURATION {self.retention} REPLICATION 1 DEFAULT"
            )

    async def _query(self, q: str) -> list[Series]:
        return await execute(self._client, q)

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
        post = self._client.post(
            self._path, params=self._params, content=body(lines), headers=_LINE_PROTOCOL
        )
        response = await send(post, self._where)
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
        raise status_error(response)


def _error_text(response: httpx.Response) -> str:
    """The `error` (1.x) or `message` (2.x) of a refused write, else its body."""
    try:
        parsed = response.json()
    except ValueError:
        return response.text[:1000]
    if isinstance(parsed, dict):
        return str(parsed.get("error") or parsed.get("message") or parsed)[:1000]
    return response.text[:1000]
