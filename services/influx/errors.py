"""The errors an InfluxQL query can end in, translated once at the client boundary so callers
never see httpx or raw JSON. `retryable` tells a caller whether trying again can help."""

from __future__ import annotations


class InfluxError(Exception):
    """Any failure talking to InfluxDB."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class InfluxUnavailable(InfluxError):
    """The server could not be reached, timed out or answered 5xx: try again later."""

    retryable = True


class InfluxAuthError(InfluxError):
    """The server refused our credentials (401/403): a configuration problem."""


class InfluxQueryError(InfluxError):
    """The server refused the statement itself (bad syntax, unknown database, ...)."""

    def __init__(self, message: str, *, status: int | None = None, statement: int = 0) -> None:
        super().__init__(message, status=status)
        self.statement = statement
