"""The errors any InfluxDB request can end in — write, query or administration — translated
once, at this adapter's boundary, so callers never see httpx or raw JSON.

One tree for both directions, so a caller can ask the same two questions everywhere: may the
same request succeed later (`retryable`), and which small label does it count under
(`error_class`, for metrics and health)?

    InfluxError
    ├── InfluxUnavailable   down, unreachable, overloaded (5xx, 429)   retryable
    │   └── InfluxTimeout   no answer in time                          retryable
    └── InfluxRefused       the request itself is wrong                not retryable
        ├── InfluxAuthError     401/403: the credentials
        └── InfluxQueryError    the statement (syntax, unknown database, ...)

A timeout is a kind of unavailability: a query that timed out is simply unanswered. On a write
it means "unknown", not "failed" (reliability.md) — the point may be stored — and retrying is
safe because a point with the same measurement, tags and device time overwrites itself.

Messages carry the detail an operator needs (status, InfluxDB's own error text, the server's
address without credentials) and are meant for the log; an API shows its callers a fixed text
instead (services/api/errors.py), never this one.
"""

from __future__ import annotations

import httpx


class InfluxError(Exception):
    """Any request to InfluxDB that did not succeed."""

    retryable: bool = False

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
    """Connection refused or reset, a 5xx or a 429: InfluxDB is down or overloaded."""

    retryable = True


class InfluxTimeout(InfluxUnavailable):
    """No answer in time. For a write, the points may or may not have been stored; retrying is
    safe (idempotent). For a query, it is unavailability like any other."""


class InfluxRefused(InfluxError):
    """The request itself is wrong (credentials, unknown database, bad statement): retrying
    the same thing will not help until the configuration or the request is fixed."""


class InfluxAuthError(InfluxRefused):
    """InfluxDB refused our credentials (401/403): a configuration problem."""


class InfluxQueryError(InfluxRefused):
    """InfluxDB refused an InfluxQL statement; `statement` is its index in a `;`-list."""

    def __init__(self, message: str, *, status: int | None = None, statement: int = 0) -> None:
        super().__init__(message, status=status)
        self.statement = statement


def status_error(response: httpx.Response, detail: str = "") -> InfluxError:
    """The error for a status InfluxDB should not have answered; `detail` defaults to the body.

    5xx and 429 are retryable; 401/403 are the credentials; anything else is refused."""
    status = response.status_code
    text = f"InfluxDB answered {status}: {detail or response.text[:500]}"
    if status >= 500 or status == 429:
        return InfluxUnavailable(text, status=status)
    if status in (401, 403):
        return InfluxAuthError(text, status=status)
    return InfluxRefused(text, status=status)
