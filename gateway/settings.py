"""The gateway's settings: one typed model read from the environment (prefix `GRIDWATCH_`),
built once at start by the `gridwatch gateway` command and passed down — never at import.

Precedence (pydantic-settings): explicit arguments (the CLI's options) > environment >
defaults.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain import topics
from gateway.spool import FullPolicy


class MqttEndpoint:
    """`mqtt://user:pass@host:port` split into what paho needs."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"MQTT URL must start with mqtt:// (got {url!r})")
        if not parts.hostname:
            raise ValueError(f"MQTT URL names no host: {url!r}")
        self.host = parts.hostname
        self.port = parts.port or 1883
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None


class GatewaySettings(BaseSettings):
    """Everything `gridwatch gateway` can be told, with the contract's defaults."""

    model_config = SettingsConfigDict(env_prefix="GRIDWATCH_", extra="ignore", frozen=True)

    site: Path | None = Field(default=None, description="site registry YAML (contract §1)")
    topic_prefix: str = topics.DEFAULT_PREFIX

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_client_id: str = "gridwatch-gateway"
    mqtt_session_expiry_s: int = Field(default=14 * 86_400, ge=1)
    mqtt_receive_maximum: int = Field(default=10_000, ge=1, le=65_535)
    mqtt_keepalive_s: int = Field(default=30, ge=5)

    influx_url: str = "http://127.0.0.1:8086"
    influx_db: str = "gridwatch"
    influx_rp: str = Field(default="", description="retention policy written to ('' = default)")
    influx_raw_retention: str = Field(
        default="INF", description="how long raw readings are kept; older ones are too_old"
    )
    influx_api: Literal["v1", "v2"] = "v1"
    influx_org: str = ""
    influx_bucket: str = ""
    influx_token: SecretStr | None = None
    influx_user: str | None = None
    influx_password: SecretStr | None = None
    influx_timeout_s: float = Field(default=10.0, gt=0)

    batch_size: int = Field(default=5_000, ge=1, description="readings per InfluxDB write")
    batch_interval_s: float = Field(
        default=0.25, gt=0, description="longest wait before a write (a reading waits 0–this)"
    )
    influx_retry_budget_s: float = Field(
        default=5.0, gt=0, description="how long a live batch retries before it is spooled"
    )

    spool: bool = Field(default=True, description="spool to disk while InfluxDB is unavailable")
    spool_dir: Path = Field(
        default=Path("var/spool"), description="folder of the spool files, one per client id"
    )
    spool_path: Path | None = Field(
        default=None, description="spool SQLite file (default <spool_dir>/<client id>.sqlite)"
    )
    spool_max_readings: int = Field(default=5_000_000, ge=1, description="spool size limit")
    spool_full_policy: FullPolicy = Field(
        default=FullPolicy.REFUSE,
        description="refuse: stop acking so the broker holds new readings; "
        "drop_oldest: delete the oldest spooled readings (counted loss)",
    )
    spool_drain_batch: int = Field(default=50_000, ge=1, description="readings per drain write")
    broker_stats: bool = Field(
        default=True, description="follow $SYS/broker/publish/messages/dropped"
    )
    stale_after_s: float = Field(
        default=300.0, gt=0, description="health is degraded when no reading came for this long"
    )

    @field_validator("mqtt_url")
    @classmethod
    def _valid_mqtt_url(cls, v: str) -> str:
        MqttEndpoint(v)
        return v

    @field_validator("topic_prefix")
    @classmethod
    def _valid_prefix(cls, v: str) -> str:
        if not v or v.startswith("/") or v.endswith("/") or any(c in v for c in "+#"):
            raise ValueError("topic prefix must be non-empty, without wildcards or edge slashes")
        return v

    @property
    def mqtt(self) -> MqttEndpoint:
        return MqttEndpoint(self.mqtt_url)

    @property
    def spool_file(self) -> Path | None:
        """Where the spool lives (None: no spool — a live batch then retries until stored)."""
        if not self.spool:
            return None
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", self.mqtt_client_id)
        return self.spool_path or self.spool_dir / f"{safe}.sqlite"
