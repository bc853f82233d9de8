"""The sections of the hub's settings (`domain.settings.Settings`): one frozen model per
concern, each field with the description that becomes its comment in the sample env file and
its `--help`, and — where a deployment must decide it — the example the sample sets."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from domain.duration import Retention, RetentionField
from domain.endpoints import DEFAULT_DB_URL, DEFAULT_INFLUX_URL, DEFAULT_MQTT_URL, MqttEndpoint


def _checked_mqtt_url(url: str | None) -> str | None:
    """A broker URL is checked as the settings are read, so a typo fails at start-up with
    the setting's name, not later when a process connects."""
    if url is not None:
        MqttEndpoint(url)
    return url


MqttUrl = Annotated[str | None, AfterValidator(_checked_mqtt_url)]
"""An optional broker URL, mqtt://user:password@host:port (domain.endpoints.MqttEndpoint)."""


class FullPolicy(StrEnum):
    """What a full spool does with a new batch."""

    REFUSE = "refuse"
    DROP_OLDEST = "drop_oldest"


class Section(BaseModel):
    """A frozen group of settings; unknown names are refused, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class MqttSettings(Section):
    """The broker the readings come from."""

    url: MqttUrl = Field(
        default=None,
        description="broker, mqtt://user:password@host:port; unset: `up` starts a local one, "
        f"the gateway uses {DEFAULT_MQTT_URL}; a deployment takes it from broker-config's "
        "gateway.env",
    )
    client_id: str = Field(
        default="gridwatch-gateway",
        description="client id of the gateway's durable session (workers add -w<i>)",
    )
    worker_passwords: SecretStr | None = Field(
        default=None,
        description="with --workers N on an authenticating broker: the passwords of the "
        "accounts <user>-w0 … <user>-w<N-1>, comma-separated (gridwatch broker-config "
        "--workers N writes them to gateway.env)",
    )
    session_expiry_s: int = Field(default=14 * 86_400, ge=1, description="MQTT v5 session expiry")
    receive_maximum: int = Field(
        default=10_000, ge=1, le=65_535, description="unacknowledged messages in flight"
    )
    keepalive_s: int = Field(default=30, ge=5, description="MQTT keepalive")

    @property
    def url_or_default(self) -> str:
        return self.url or DEFAULT_MQTT_URL

    @property
    def endpoint(self) -> MqttEndpoint:
        return MqttEndpoint(self.url_or_default)


class DynsecSettings(Section):
    """Device logins changed live through the broker's dynamic-security plugin (contract §7)."""

    url: str | None = Field(
        default=None,
        description="broker of the dynamic-security plugin, mqtt://host:port (no credentials: "
        "user and password are their own settings); unset: the host and port of mqtt.url",
    )
    user: str = Field(default="gridwatch-admin", description="the plugin's admin user")
    password: SecretStr | None = Field(
        default=None,
        description="the admin's password (broker-config --dynamic-security writes it to "
        "gateway.env); unset: logins are not changed live (a static broker)",
    )
    timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="how long a command waits for the broker's answer"
    )

    @field_validator("url")
    @classmethod
    def _valid_url(cls, v: str | None) -> str | None:
        if v is not None:
            e = MqttEndpoint(v)
            if e.username is not None or e.password is not None:
                raise ValueError(
                    "write the admin's user and password in their own settings, not in the URL"
                )
        return v

    @property
    def password_value(self) -> str | None:
        return self.password.get_secret_value() if self.password else None


class InfluxSettings(Section):
    """Where readings are stored and the trends read from."""

    url: str | None = Field(
        default=None,
        description="InfluxDB base URL; unset: `up` starts a local one, the gateway uses "
        f"{DEFAULT_INFLUX_URL}, the API serves no trends",
        examples=["http://127.0.0.1:8086"],
    )
    db: str = Field(
        default="gridwatch",
        description="database (v1) or default bucket (v2)",
        examples=["gridwatch"],
    )
    rp: str = Field(default="", description="retention policy written to ('' = default)")
    raw_retention: RetentionField = Field(
        default=Retention(),
        description="how long raw readings are kept (INF or at least 1h, e.g. 90d); "
        "older ones are refused as too_old",
    )
    api: Literal["v1", "v2"] = Field(default="v1", description="write API: v1 or v2")
    org: str = Field(default="", description="organisation (v2)")
    bucket: str = Field(default="", description="bucket (v2; default: db)")
    token: SecretStr | None = Field(default=None, description="API token (v2)")
    user: str | None = Field(default=None, description="user (v1 with auth)")
    password: SecretStr | None = Field(default=None, description="password (v1 with auth)")
    timeout_s: float = Field(default=10.0, gt=0, description="timeout of one request")
    retry_budget_s: float = Field(
        default=5.0, gt=0, description="how long a live batch retries before it is spooled"
    )

    @property
    def url_or_default(self) -> str:
        return self.url or DEFAULT_INFLUX_URL

    @property
    def token_value(self) -> str | None:
        return self.token.get_secret_value() if self.token else None

    @property
    def password_value(self) -> str | None:
        return self.password.get_secret_value() if self.password else None


class DbSettings(Section):
    """The ticket database (SQLite or PostgreSQL)."""

    url: str | None = Field(
        default=None,
        description=f"SQLAlchemy URL; unset: {DEFAULT_DB_URL} (`up`: under --var)",
        examples=["postgresql+psycopg://gridwatch:CHANGE_ME@127.0.0.1:5432/gridwatch"],
    )


class ApiSettings(Section):
    """The REST API and dashboard."""

    http: str = Field(
        default="127.0.0.1:8080",
        description="listen address host:port",
        examples=["127.0.0.1:8000"],
    )
    mqtt_url: MqttUrl = Field(
        default=None,
        description="broker for the ticket events the API causes (acknowledge, resolve), with "
        "a login of its own: the gateway's notifier is connected at the same time, and one "
        "user is one client on the shipped broker; unset: mqtt.url",
    )
    max_limit: int = Field(default=1000, ge=1, description="largest page a list returns")
    max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=1_000_000,
        description="largest request body a JSON route takes; larger ones are refused with "
        "413 before they are read (photo routes have their own limit)",
    )
    dry_run_time_limit_s: float = Field(
        default=60.0,
        gt=0,
        le=600,
        description="longest a rule dry-run may take before it is stopped with a 503",
    )

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.http.rpartition(":")
        return host or "127.0.0.1", int(port)


class NotifySettings(Section):
    """Where ticket notices go."""

    mqtt_url: MqttUrl = Field(
        default=None,
        description="broker for ticket events on gridwatch/tickets/{grid}; unset: mqtt.url",
    )
    client_id: str = Field(default="", description="client id of the notifier ('' = generated)")
    webhook_urls: list[str] = Field(
        default_factory=list, description='webhooks, as JSON: ["https://…"]'
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC key that signs webhook deliveries"
    )
    ack_timeout_s: float = Field(
        default=1800.0, gt=0, description="unacknowledged this long: escalate"
    )
    public_url: str = Field(
        default="http://127.0.0.1:8080",
        description="the dashboard's address as crews reach it: links are {this}/tickets/{id}",
        examples=["https://gridwatch.example.org"],
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="mail server: smtp://host:25, smtp+starttls://user:pass@host:587, "
        "smtps://user:pass@host:465",
    )
    smtp_from: str = Field(default="gridwatch@localhost", description="sender of e-mail notices")
    smtp_ca_file: Path | None = Field(
        default=None,
        description="CA file to trust for the mail server (unset: the system's)",
    )
    group_window_s: float = Field(
        default=30.0, ge=0, le=3600, description="notices to one channel this close: one message"
    )
    rate_wecom_per_min: int = Field(default=20, ge=1, description="messages a minute per robot")
    rate_dingtalk_per_min: int = Field(default=20, ge=1, description="messages a minute per robot")
    rate_feishu_per_min: int = Field(default=100, ge=1, description="messages a minute per bot")
    retry_base_s: float = Field(
        default=5.0, gt=0, description="first retry of a throttled or failed delivery after"
    )
    retry_max_s: float = Field(default=600.0, gt=0, description="longest wait between retries")
    max_attempts: int = Field(
        default=12, ge=1, description="attempts before a delivery is recorded failed for good"
    )
    poll_s: float = Field(default=1.0, gt=0, description="how often channel workers look for work")
    lease_s: float = Field(
        default=120.0, gt=0, description="a claimed delivery is another process's after this"
    )
    send_timeout_s: float = Field(default=10.0, gt=0, description="one delivery attempt's limit")


class BatchSettings(Section):
    """How the gateway batches its writes."""

    size: int = Field(default=5_000, ge=1, description="readings per InfluxDB write")
    interval_s: float = Field(
        default=0.25, gt=0, description="longest wait before a write (a reading waits 0–this)"
    )


class SpoolSettings(Section):
    """The gateway's disk spool, used while InfluxDB is unavailable."""

    enabled: bool = Field(default=True, description="spool while InfluxDB is unavailable")
    dir: Path = Field(
        default=Path("var/spool"),
        description="folder of spools, one per client",
        examples=[Path("/var/lib/gridwatch/spool")],
    )
    path: Path | None = Field(
        default=None, description="spool SQLite file (default <dir>/<client id>.sqlite)"
    )
    max_readings: int = Field(default=5_000_000, ge=1, description="spool size limit")
    full_policy: FullPolicy = Field(
        default=FullPolicy.REFUSE,
        description="refuse: stop acking so the broker holds new readings; "
        "drop_oldest: delete the oldest spooled readings (counted loss)",
    )
    drain_batch: int = Field(default=50_000, ge=1, description="readings per drain write")


class GatewaySettings(Section):
    """The gateway's processes, health and broker watch."""

    workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="gateway worker processes on one MQTT v5 $share subscription (1: in-process; "
        "0: chosen from the cores, cores - 1 and at least 1, no more than the worker logins "
        "an authenticating broker has; --workers wins)",
    )
    broker_stats: bool = Field(
        default=True, description="follow $SYS/broker/publish/messages/dropped"
    )
    stale_after_s: float = Field(
        default=300.0, gt=0, description="health is degraded when no reading came for this long"
    )


class LogSettings(Section):
    """What the processes log, and how."""

    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="debug, info, warning or error"
    )
    format: Literal["text", "json"] = Field(
        default="text", description="text (one line per event) or json (one object per line)"
    )

    @field_validator("level", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v


class FieldSettings(Section):
    """Field work on phones (contract §9): photos and residents' reports. The address phones
    reach the hub at is notify.public_url (GRIDWATCH_PUBLIC_URL): sign-in links and labels."""

    photo_ticket_budget_bytes: int = Field(
        default=40 * 1000 * 1000,
        ge=1_000_000,
        description="stored (re-encoded) photo bytes one ticket may hold; a photo past it is "
        "refused with 413",
    )
    photo_max_side_px: int = Field(
        default=2048, ge=320, le=8192, description="longest side of a stored photo"
    )
    resident_reports_per_client: int = Field(
        default=3, ge=1, description="resident reports one client address may send per hour"
    )
    resident_reports_per_sensor: int = Field(
        default=20, ge=1, description="resident reports one sensor may take per hour"
    )
