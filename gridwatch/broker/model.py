"""What a broker configuration is made from and what writing one produced: options, paths,
the written files' summary, and the queue sized from the site."""

from __future__ import annotations

import math
import os
import pwd
import re
from dataclasses import dataclass, field
from pathlib import Path

from domain import topics
from domain.site import Site
from gateway.identity import worker_name

GATEWAY_USER = "gridwatch-gateway"
NOTIFIER_USER = "gridwatch-notify"
API_USER = "gridwatch-api"
ADMIN_USER = "gridwatch-admin"
"""The dynamic-security administrator: the hub's provisioning client (the API) logs in as it."""
DYNSEC_PLUGIN = Path("/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so")
"""Where Debian's and Ubuntu's `mosquitto` 2.x package installs the dynamic-security plugin."""
DEFAULT_WORKERS = 2
"""Worker accounts `broker-config` makes by default: the shipped units run `--workers 2`."""
MAX_WORKERS = 64
CREW_PREFIX = "crew-"
MIN_QUEUE = 30_000
"""Floor for `max_queued_messages`: a small site still rides out a long gateway restart."""

CONFIG_NAME = "mosquitto.conf"
HASHES_NAME = "passwd"
ACL_NAME = "acl"
DYNSEC_NAME = "dynamic-security.json"
CREDENTIALS_NAME = "credentials.json"
GATEWAY_ENV_NAME = "gateway.env"
DATA_DIR = "data"

USER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class BrokerConfigError(ValueError):
    """Options or existing files that cannot give a safe broker configuration."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Server certificate and key for the TLS listener (TLS 1.2 or newer only)."""

    certfile: Path
    keyfile: Path
    cafile: Path | None = None
    port: int = 8883


@dataclass(frozen=True, slots=True)
class BrokerOptions:
    """What is not in the site: where the broker listens and how generous its limits are.

    With TLS, the plain listener binds to loopback unless `bind` says otherwise: devices come in
    over TLS, the local gateway over the plain port.
    """

    port: int = 1883
    bind: str | None = None
    prefix: str = topics.DEFAULT_PREFIX
    gateway_user: str = GATEWAY_USER
    notifier_user: str = NOTIFIER_USER
    api_user: str = API_USER
    gateway_workers: int = 0
    """Accounts `<gateway_user>-w0 … -w<N-1>` for `gridwatch gateway --workers N`: each worker
    its own login, since the broker makes the user name the client id."""
    tls: TlsFiles | None = None
    queue_hours: float = 1.0
    min_queue: int = MIN_QUEUE
    max_inflight: int = 1000
    max_packet_size: int = 65_536
    autosave_interval_s: int = 60
    client_expiration: str = "14d"
    simulator_user: str | None = None
    """Local demo only: an account that may publish as every device of the site, so one
    simulator connection can play the whole community. Never set for a real deployment."""
    dynamic_security: bool = False
    """Logins and ACLs in Mosquitto's dynamic-security plugin (changed live by the hub over
    `$CONTROL/dynamic-security/v1`) instead of a password file and ACL file."""
    admin_user: str = ADMIN_USER
    dynsec_plugin: Path = DYNSEC_PLUGIN
    run_as: str | None = None
    """Mosquitto's `user`: started as root it drops to this account (its default: mosquitto).
    `gridwatch up` and the tests pass their own user so the broker reads files they own."""

    @classmethod
    def local(
        cls, port: int, simulator_user: str | None = None, dynamic_security: bool = False
    ) -> BrokerOptions:
        """A broker this process starts itself (`gridwatch up`, tests): loopback only, run as
        the current account so it can read the files this process wrote."""
        return cls(
            port=port,
            bind="127.0.0.1",
            run_as=pwd.getpwuid(os.geteuid()).pw_name,
            simulator_user=simulator_user,
            dynamic_security=dynamic_security,
        )

    @property
    def worker_users(self) -> list[str]:
        return [worker_name(self.gateway_user, i) for i in range(self.gateway_workers)]

    @property
    def plain_bind(self) -> str | None:
        if self.bind is not None:
            return self.bind
        return "127.0.0.1" if self.tls is not None else None


DEFAULTS = BrokerOptions()
"""The options of a plain `broker-config` run (an immutable value: safe as a default)."""


@dataclass(frozen=True, slots=True)
class BrokerPaths:
    """Where the generated files live; absolute so the config works from any working dir."""

    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / CONFIG_NAME

    @property
    def password_file(self) -> Path:
        return self.directory / HASHES_NAME

    @property
    def acl_file(self) -> Path:
        return self.directory / ACL_NAME

    @property
    def credentials(self) -> Path:
        return self.directory / CREDENTIALS_NAME

    @property
    def dynsec(self) -> Path:
        """The dynamic-security plugin's state: written once here, then kept by the broker."""
        return self.directory / DYNSEC_NAME

    @property
    def persistence(self) -> Path:
        return self.directory / DATA_DIR

    @property
    def gateway_env(self) -> Path:
        return self.directory / GATEWAY_ENV_NAME


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    """What `write_broker_config` produced, for the command to print and `gridwatch up` to use."""

    paths: BrokerPaths
    gateway_user: str
    gateway_password: str
    notifier_user: str
    notifier_password: str
    port: int
    queue_size: int
    readings_per_hour: float
    host: str = "127.0.0.1"
    prefix: str = topics.DEFAULT_PREFIX
    api_user: str = API_USER
    api_password: str = ""
    worker_passwords: tuple[str, ...] = ()
    simulator_password: str | None = None
    dynamic_security: bool = False
    admin_user: str = ADMIN_USER
    admin_password: str | None = None
    """The dynamic-security administrator's password (dynamic mode only)."""
    added: tuple[str, ...] = field(default=())
    removed: tuple[str, ...] = field(default=())
    rotated: bool = False

    def url(self, user: str, password: str) -> str:
        """`mqtt://user:password@host:port` for GRIDWATCH_MQTT_URL (passwords are URL-safe)."""
        return f"mqtt://{user}:{password}@{self.host}:{self.port}"

    @property
    def gateway_url(self) -> str:
        return self.url(self.gateway_user, self.gateway_password)

    @property
    def notifier_url(self) -> str:
        return self.url(self.notifier_user, self.notifier_password)

    @property
    def api_url(self) -> str:
        return self.url(self.api_user, self.api_password)

    def gateway_env(self) -> str:
        """The variables a hub host adds to its environment file (contract §10): every
        process its own broker login, so none throws another off."""
        lines = [
            "# Generated by `gridwatch broker-config`: add to /etc/gridwatch/gridwatch.env.",
            "# Each process and gateway worker logs in as its own account (the broker makes the",
            "# user name the client id). Secret: keep this file 0600.",
            f"GRIDWATCH_MQTT_URL={self.gateway_url}",
            f"GRIDWATCH_MQTT_CLIENT_ID={self.gateway_user}",
            f"GRIDWATCH_TOPIC_PREFIX={self.prefix}",
            "# gateway workers <user>-w0, -w1, … (gridwatch gateway --workers N, N <= their count)",
            f"GRIDWATCH_MQTT_WORKER_PASSWORDS={','.join(self.worker_passwords)}",
            "# ticket events: from the gateway's rules, and from the API (acknowledge, resolve)",
            f"GRIDWATCH_NOTIFY_MQTT_URL={self.notifier_url}",
            f"GRIDWATCH_API_MQTT_URL={self.api_url}",
        ]
        if self.dynamic_security and self.admin_password is not None:
            lines += [
                "# device logins changed live (dynamic-security plugin): the API's admin login",
                f"GRIDWATCH_DYNSEC_URL=mqtt://{self.host}:{self.port}",
                f"GRIDWATCH_DYNSEC_USER={self.admin_user}",
                f"GRIDWATCH_DYNSEC_PASSWORD={self.admin_password}",
            ]
        return "\n".join(lines) + "\n"

    def simulator_url(self, user: str) -> str:
        if self.simulator_password is None:
            raise BrokerConfigError("this broker configuration has no simulator account")
        return self.url(user, self.simulator_password)


# -- sizing ---------------------------------------------------------------------------------


def readings_per_hour(site: Site) -> float:
    """Telemetry messages the whole site sends in an hour at its declared intervals."""
    return sum(3600.0 / s.interval_s for s in site.sensors)


def queue_size(site: Site, options: BrokerOptions = BrokerOptions()) -> int:
    """`max_queued_messages` for the gateway's offline session.

    The gateway is the one subscriber to every device, so its queue must hold `queue_hours` of
    the whole site's readings, plus an online and an offline status per device (a reconnect
    storm after a backhaul outage), rounded up to a thousand and never below `min_queue`.
    Mosquitto drops the *newest* messages past this limit (reliability.md), so err high.
    """
    wanted = math.ceil(readings_per_hour(site) * options.queue_hours) + 2 * len(site.sensors)
    return max(options.min_queue, math.ceil(wanted / 1000) * 1000)
