"""The one place an HTTP client for InfluxDB is made, its transport errors translated, and its
address written down for a log.

Credentials (contract §3) are optional: a token is sent as `Authorization: Token …` (InfluxDB
2.x/3.x, on v1 and v2 endpoints alike); otherwise a user/password as HTTP basic auth (1.x with
auth enabled). Neither ever goes into a request URL — InfluxDB 1.x would also take `u=`/`p=`
query parameters, which end up in access logs and in httpx's request log lines. A configured
address that carries them anyway (`http://user:pw@host:8086`, `…/?u=user&p=pw`) has them moved
into the basic-auth header; `safe_url` is the address fit for an error message or a log line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping

import httpx

from adapters.influx.errors import InfluxTimeout, InfluxUnavailable


def open_client(
    url: str,
    *,
    token: str | None = None,
    user: str | None = None,
    password: str | None = None,
    timeout: float = 10.0,
    headers: Mapping[str, str] | None = None,
    max_connections: int | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` on `url` with our credentials; the caller closes it.

    `transport` is the seam for tests that need answers no healthy InfluxDB gives (5xx,
    timeouts, hostile bodies)."""
    base, url_user, url_password = _credentials_out(url)
    user, password = (user, password) if user else (url_user, password or url_password)
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Token {token}"
    auth = httpx.BasicAuth(user, password or "") if user and not token else None
    limits = (
        httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        if max_connections
        else httpx.Limits()
    )
    return httpx.AsyncClient(
        base_url=base,
        headers=sent,
        auth=auth,
        timeout=httpx.Timeout(timeout),
        limits=limits,
        transport=transport,
    )


def _credentials_out(url: str) -> tuple[str, str | None, str | None]:
    """`url` without user info and query, and the user and password they named, if any."""
    parsed = httpx.URL(url)
    user = parsed.username or parsed.params.get("u") or None
    password = parsed.password or parsed.params.get("p") or None
    bare = parsed.copy_with(username=None, password=None, query=None, fragment=None)
    return str(bare).rstrip("/"), user, password


def safe_url(url: str) -> str:
    """`url` without user info, query or fragment: fit for a log line or an error message."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "<invalid InfluxDB URL>"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path.rstrip('/')}"


async def send(request: Awaitable[httpx.Response], where: str) -> httpx.Response:
    """Await a request, translating httpx's transport errors; `where` is a `safe_url`."""
    try:
        return await request
    except httpx.TimeoutException as e:
        raise InfluxTimeout(f"InfluxDB at {where} did not answer in time: {e!r}") from e
    except httpx.RequestError as e:
        raise InfluxUnavailable(f"InfluxDB at {where} unreachable: {e!r}") from e
