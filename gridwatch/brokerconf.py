"""A Mosquitto 2.0 configuration generated from the site registry (issue 5, reliability.md).

The broker is part of the product: it is the first line that keeps a device from writing as
another, holds the gateway's queue while the gateway is away, and survives its own restart.
Everything is derived from the `Site`, so adding a sensor to the registry and re-running gives
it credentials and exactly its own two topics.

Pure functions build the texts (config, ACL, password file) from a Site and `BrokerOptions`;
`write_broker_config` is the one function that touches disk, so `gridwatch up` and the tests
reuse it with their own folder and port.

Password hashes are PBKDF2-SHA512 in the `$7$iterations$salt$hash` form `mosquitto_passwd` 2.0
writes (12-byte salt, 101 iterations), so the generator does not need Mosquitto's tools.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
import pwd
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain import topics
from domain.site import Site

GATEWAY_USER = "gridwatch-gateway"
NOTIFIER_USER = "gridwatch-notify"
CREW_PREFIX = "crew-"
MIN_QUEUE = 30_000
"""Floor for `max_queued_messages`: a small site still rides out a long gateway restart."""

HASH_ITERATIONS = 101
SALT_BYTES = 12
CONFIG_NAME = "mosquitto.conf"
HASHES_NAME = "passwd"
ACL_NAME = "acl"
CREDENTIALS_NAME = "credentials.json"
DATA_DIR = "data"

_USER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HASH_PATTERN = re.compile(r"^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


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
    run_as: str | None = None
    """Mosquitto's `user`: started as root it drops to this account (its default: mosquitto).
    `gridwatch up` and the tests pass their own user so the broker reads files they own."""

    @classmethod
    def local(cls, port: int, simulator_user: str | None = None) -> BrokerOptions:
        """A broker this process starts itself (`gridwatch up`, tests): loopback only, run as
        the current account so it can read the files this process wrote."""
        return cls(
            port=port,
            bind="127.0.0.1",
            run_as=pwd.getpwuid(os.geteuid()).pw_name,
            simulator_user=simulator_user,
        )

    @property
    def plain_bind(self) -> str | None:
        if self.bind is not None:
            return self.bind
        return "127.0.0.1" if self.tls is not None else None


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
    def persistence(self) -> Path:
        return self.directory / DATA_DIR


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
    simulator_password: str | None = None
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


# -- passwords ------------------------------------------------------------------------------


def new_password() -> str:
    """A random password for a device or the gateway (about 190 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def hash_password(
    password: str, salt: bytes | None = None, iterations: int = HASH_ITERATIONS
) -> str:
    """The `$7$` PBKDF2-SHA512 hash Mosquitto 2.0 reads from its password file."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    b64 = base64.b64encode
    return f"$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(hashed: str, password: str) -> bool:
    """Whether `password` matches a `$7$` hash (False for any other or malformed hash)."""
    m = _HASH_PATTERN.match(hashed)
    if m is None:
        return False
    try:
        salt = base64.b64decode(m.group(2), validate=True)
        expected = base64.b64decode(m.group(3), validate=True)
    except ValueError:
        return False
    iterations = int(m.group(1))
    if not 1 <= iterations <= 10_000_000:
        return False
    got = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(got, expected)


def parse_password_file(text: str) -> dict[str, str]:
    """`user:hash` lines of a Mosquitto password file; comments and junk are skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        user, _, hashed = line.partition(":")
        out[user] = hashed
    return out


def password_file_text(passwords: Mapping[str, str], previous: Mapping[str, str] = {}) -> str:
    """The password file for `passwords` (user -> clear text), sorted by user.

    A previous hash is kept when it still matches, so re-running without changes leaves the
    file byte-for-byte the same (a running broker then has nothing to reload).
    """
    lines = []
    for user in sorted(passwords):
        old = previous.get(user)
        pw = passwords[user]
        hashed = old if old is not None and verify_password(old, pw) else hash_password(pw)
        lines.append(f"{user}:{hashed}\n")
    return "".join(lines)


# -- credentials ----------------------------------------------------------------------------


def crew_user(grid_id: str) -> str:
    """The read-only account of a grid cell's crew app: it sees its own grid's tickets."""
    return f"{CREW_PREFIX}{grid_id}"


def accounts(site: Site, options: BrokerOptions) -> list[str]:
    """Every MQTT user: the gateway (consumes readings), the notifier (publishes ticket events;
    its own account because with `use_username_as_clientid` two connections of one user kick
    each other off), one per grid crew, one per sensor."""
    grids = [g.id for c in site.communities for g in c.grids]
    return [
        options.gateway_user,
        options.notifier_user,
        *((options.simulator_user,) if options.simulator_user else ()),
        *(crew_user(g) for g in grids),
        *(s.id for s in site.sensors),
    ]


def check_options(site: Site, options: BrokerOptions) -> None:
    """Refuse options that would weaken the ACL or produce a config Mosquitto cannot read."""
    for role, name in (("gateway", options.gateway_user), ("notifier", options.notifier_user)):
        if not _USER_PATTERN.match(name):
            raise BrokerConfigError(
                f"{role} user {name!r}: use 1-64 letters, digits, '.', '_' or '-'"
            )
    seen: set[str] = set()
    for name in accounts(site, options):
        if name in seen:
            raise BrokerConfigError(
                f"MQTT user {name!r} would be two accounts (a sensor id, a crew or a service "
                "user); choose another service user name"
            )
        seen.add(name)
    if not options.prefix or any(c in options.prefix for c in "#+\n ") or "//" in options.prefix:
        raise BrokerConfigError(f"topic prefix {options.prefix!r} is not a plain topic path")
    for port in (options.port, *((options.tls.port,) if options.tls else ())):
        if not 1 <= port <= 65_535:
            raise BrokerConfigError(f"port {port} is outside 1-65535")
    if options.tls is not None and options.tls.port == options.port:
        raise BrokerConfigError("the TLS listener needs a port other than the plain one")
    if options.max_packet_size < 1024:
        raise BrokerConfigError("max_packet_size below 1024 bytes would refuse ordinary readings")
    if options.run_as is not None and not _USER_PATTERN.match(options.run_as):
        raise BrokerConfigError(f"run-as user {options.run_as!r} is not an account name")
    if not 1 <= options.max_inflight <= 65_535:
        raise BrokerConfigError("max_inflight must be 1-65535 (MQTT packet ids are 16-bit)")


def plan_passwords(
    site: Site, options: BrokerOptions, existing: Mapping[str, str], rotate: bool = False
) -> dict[str, str]:
    """user -> password for every account: existing ones kept unless `rotate`, new ones
    random; users no longer in the site are left out (and so lose access)."""
    users = accounts(site, options)
    return {u: existing[u] if u in existing and not rotate else new_password() for u in users}


def credentials_document(
    site: Site, options: BrokerOptions, passwords: Mapping[str, str]
) -> dict[str, Any]:
    """The provisioning file: what each device and the gateway need to connect."""
    return {
        "broker": {
            "port": options.port,
            **({"tls_port": options.tls.port} if options.tls else {}),
            "prefix": options.prefix,
        },
        "gateway": {
            "username": options.gateway_user,
            "password": passwords[options.gateway_user],
        },
        "notifier": {
            "username": options.notifier_user,
            "password": passwords[options.notifier_user],
        },
        **(
            {
                "simulator": {
                    "username": options.simulator_user,
                    "password": passwords[options.simulator_user],
                }
            }
            if options.simulator_user
            else {}
        ),
        "crews": {
            g.id: {
                "username": crew_user(g.id),
                "password": passwords[crew_user(g.id)],
                "tickets": topics.tickets(g.id),
            }
            for c in site.communities
            for g in c.grids
        },
        "devices": {
            s.id: {
                "username": s.id,
                "password": passwords[s.id],
                "client_id": s.id,
                "telemetry": topics.telemetry(s.kind, s.id, options.prefix),
                "status": topics.status(s.kind, s.id, options.prefix),
            }
            for s in site.sensors
        },
    }


def passwords_of(document: Mapping[str, Any]) -> dict[str, str]:
    """user -> password from a credentials document written earlier."""
    entries: list[Any] = [
        document.get("gateway"),
        document.get("notifier"),
        document.get("simulator"),
    ]
    for group in ("crews", "devices"):
        found = document.get(group)
        if isinstance(found, Mapping):
            entries += found.values()
    out: dict[str, str] = {}
    for e in entries:
        if (
            isinstance(e, Mapping)
            and isinstance(e.get("username"), str)
            and isinstance(e.get("password"), str)
        ):
            out[e["username"]] = e["password"]
    return out


# -- texts ----------------------------------------------------------------------------------


def acl_text(site: Site, options: BrokerOptions) -> str:
    """Each device may write only its own telemetry and status topics, with its own kind in
    them (tighter than a `%u` pattern, which would let a pond sensor write under `water/`);
    devices read nothing. The gateway reads every device topic and the broker's `$SYS` counters
    (dropped messages) and may write ticket events; the notifier writes ticket events; a crew
    reads its own grid's. Everything else is denied."""
    p = options.prefix
    lines = [
        "# Generated by `gridwatch broker-config` from the site registry; do not edit by hand.",
        "# Mosquitto denies anything not granted here.",
        "",
        f"user {options.gateway_user}",
        f"topic read {p}/#",
        "topic read $SYS/broker/#",
        f"topic write {topics.TICKETS_PREFIX}/#",
        "",
        f"user {options.notifier_user}",
        f"topic write {topics.TICKETS_PREFIX}/#",
        "",
    ]
    if options.simulator_user:
        lines += [
            "# local demo only: the simulator plays every device of the site",
            f"user {options.simulator_user}",
            *(f"topic write {topics.telemetry(s.kind, s.id, p)}" for s in site.sensors),
            *(f"topic write {topics.status(s.kind, s.id, p)}" for s in site.sensors),
            "",
        ]
    for g in sorted(g.id for c in site.communities for g in c.grids):
        lines += [f"user {crew_user(g)}", f"topic read {topics.tickets(g)}", ""]
    for s in sorted(site.sensors, key=lambda s: s.id):
        lines += [
            f"user {s.id}",
            f"topic write {topics.telemetry(s.kind, s.id, p)}",
            f"topic write {topics.status(s.kind, s.id, p)}",
            "",
        ]
    return "\n".join(lines)


def _path(p: Path) -> str:
    text = str(p)
    if "\n" in text or "\r" in text:
        raise BrokerConfigError(f"path {text!r} contains a line break")
    return text


def config_text(site: Site, options: BrokerOptions, paths: BrokerPaths) -> str:
    """mosquitto.conf for the site (Mosquitto 2.0 syntax; global, not per-listener, auth)."""
    plain = f"listener {options.port}" + (f" {options.plain_bind}" if options.plain_bind else "")
    rate = readings_per_hour(site)
    lines = [
        "# Generated by `gridwatch broker-config`; re-run it after changing the site.",
        f"# Site: {len(site.sensors)} sensors, {rate:.0f} readings/hour.",
        "per_listener_settings false",
        *([f"user {options.run_as}"] if options.run_as else []),
        "",
        "# Who may connect and what they may touch",
        "allow_anonymous false",
        f"password_file {_path(paths.password_file)}",
        f"acl_file {_path(paths.acl_file)}",
        "",
        "# Sessions and queues survive a restart; kill -9 loses at most the autosave interval.",
        "persistence true",
        f"persistence_location {_path(paths.persistence)}/",
        f"autosave_interval {options.autosave_interval_s}",
        f"persistent_client_expiration {options.client_expiration}",
        f"# >= {options.queue_hours:g} h of the site's readings for the offline gateway.",
        f"max_queued_messages {queue_size(site, options)}",
        f"max_inflight_messages {options.max_inflight}",
        f"max_packet_size {options.max_packet_size}",
        "",
        "log_dest stdout",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
        "",
        "# Per listener: the client id is the user name, so nobody can take over another's",
        "# session (set before any listener line, it would open a default one on 1883).",
        plain,
        "use_username_as_clientid true",
    ]
    if options.tls is not None:
        t = options.tls
        lines += [
            "",
            f"listener {t.port}",
            f"certfile {_path(t.certfile.resolve())}",
            f"keyfile {_path(t.keyfile.resolve())}",
            *([f"cafile {_path(t.cafile.resolve())}"] if t.cafile else []),
            "tls_version tlsv1.2",
            "use_username_as_clientid true",
        ]
    return "\n".join(lines) + "\n"


# -- the writer -----------------------------------------------------------------------------


def _write(path: Path, text: str, mode: int) -> None:
    """Write atomically (temp file, fsync, rename) with `mode` whatever the umask."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _hand_over(paths: BrokerPaths, account: str) -> None:
    """Run as root, let the account Mosquitto drops to read its files and write its data.

    The clear-text credentials stay root's alone; the hashes and ACL become group-readable.
    """
    try:
        pw = pwd.getpwnam(account)
    except KeyError:
        return
    if pw.pw_uid == 0:
        return
    for f in (paths.password_file, paths.acl_file, paths.config):
        os.chown(f, 0, pw.pw_gid)
        os.chmod(f, 0o640)
    os.chown(paths.persistence, pw.pw_uid, pw.pw_gid)


def read_credentials(path: Path) -> dict[str, Any]:
    """A credentials file written earlier; a damaged one is an error, never a silent rotation
    (that would lock every provisioned device out)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise BrokerConfigError(
            f"{path}: cannot read the existing credentials ({e}); fix or remove it, "
            "or pass --rotate to issue new passwords to every device"
        ) from e
    if not isinstance(doc, dict):
        raise BrokerConfigError(f"{path}: not a credentials file")
    return doc


def write_broker_config(
    site: Site, out: Path, options: BrokerOptions = BrokerOptions(), rotate: bool = False
) -> BrokerFiles:
    """Write config, ACL, password file and credentials into `out`; idempotent unless `rotate`.

    The credentials file (clear-text passwords, for provisioning devices) is mode 0600 and is
    written first, so a failure later never loses a password the hashes were made from.
    """
    check_options(site, options)
    paths = BrokerPaths(out.resolve())
    paths.directory.mkdir(parents=True, exist_ok=True)
    paths.persistence.mkdir(mode=0o700, exist_ok=True)

    try:
        earlier = read_credentials(paths.credentials)
    except BrokerConfigError:
        if not rotate:
            raise
        earlier = {}
    existing = {} if rotate else passwords_of(earlier)
    passwords = plan_passwords(site, options, existing, rotate)
    try:
        previous_hashes = parse_password_file(paths.password_file.read_text(encoding="utf-8"))
    except OSError:
        previous_hashes = {}

    doc = credentials_document(site, options, passwords)
    _write(paths.credentials, json.dumps(doc, indent=2, ensure_ascii=False) + "\n", 0o600)
    _write(paths.password_file, password_file_text(passwords, previous_hashes), 0o600)
    _write(paths.acl_file, acl_text(site, options), 0o640)
    _write(paths.config, config_text(site, options, paths), 0o640)
    if os.geteuid() == 0:
        _hand_over(paths, options.run_as or "mosquitto")

    sensors = {s.id for s in site.sensors}
    devices = earlier.get("devices")
    old_devices = set(devices) if isinstance(devices, dict) else set()
    return BrokerFiles(
        paths=paths,
        gateway_user=options.gateway_user,
        gateway_password=passwords[options.gateway_user],
        notifier_user=options.notifier_user,
        notifier_password=passwords[options.notifier_user],
        simulator_password=passwords.get(options.simulator_user or ""),
        port=options.port,
        host=options.plain_bind or "127.0.0.1",
        queue_size=queue_size(site, options),
        readings_per_hour=readings_per_hour(site),
        added=tuple(sorted(sensors - old_devices)),
        removed=tuple(sorted(old_devices - sensors)),
        rotated=rotate,
    )
