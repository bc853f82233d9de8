"""The API process's settings: one typed model, built once at start (flags over environment
over defaults) and passed to `create_app`; nothing reads the environment at import time."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.ticketing import TicketingSettings


class ApiSettings(TicketingSettings):
    """`GRIDWATCH_*` environment variables, e.g. GRIDWATCH_DB_URL, GRIDWATCH_SITE."""

    model_config = SettingsConfigDict(env_prefix="GRIDWATCH_", extra="ignore")

    site: str = Field(default="", description="site YAML file (required)")
    http: str = "127.0.0.1:8080"
    influx_url: str | None = None
    influx_db: str = "gridwatch"
    influx_token: str | None = None
    influx_user: str | None = None
    influx_password: str | None = None
    influx_raw_retention: str = Field(default="INF", description="how long raw readings are kept")
    max_limit: int = 1000
    rules: str | None = Field(default=None, description="rule overrides YAML (for dry-runs)")

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.http.rpartition(":")
        return host or "127.0.0.1", int(port)
