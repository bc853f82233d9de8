"""The API process's settings: one typed model, built once at start (flags over environment
over defaults) and passed to `create_app`; nothing reads the environment at import time."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """`GRIDWATCH_*` environment variables, e.g. GRIDWATCH_DB_URL, GRIDWATCH_SITE."""

    model_config = SettingsConfigDict(env_prefix="GRIDWATCH_", extra="ignore")

    site: str = Field(default="", description="site YAML file (required)")
    db_url: str | None = None
    http: str = "127.0.0.1:8080"
    influx_url: str | None = None
    influx_db: str = "gridwatch"
    influx_token: str | None = None
    influx_user: str | None = None
    influx_password: str | None = None
    mqtt_url: str | None = Field(default=None, description="where ticket notices are published")
    mqtt_client_id: str = ""
    influx_raw_retention: str = Field(default="INF", description="how long raw readings are kept")
    webhook_urls: list[str] = Field(default_factory=list)
    webhook_secret: str = ""
    ack_timeout_s: float = 1800.0
    max_limit: int = 1000

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.http.rpartition(":")
        return host or "127.0.0.1", int(port)
