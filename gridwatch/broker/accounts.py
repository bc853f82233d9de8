"""Who logs in to the broker — every hub process, gateway worker, crew and device an account
of its own — and the credentials document that provisions them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import topics
from domain.site import Site
from gridwatch.broker.model import (
    CREW_PREFIX,
    MAX_WORKERS,
    USER_PATTERN,
    BrokerConfigError,
    BrokerOptions,
)
from gridwatch.broker.passwords import new_password


def crew_user(grid_id: str) -> str:
    """The read-only account of a grid cell's crew app: it sees its own grid's tickets."""
    return f"{CREW_PREFIX}{grid_id}"


def accounts(site: Site, options: BrokerOptions) -> list[str]:
    """Every MQTT user: the gateway (consumes readings) and its workers, the gateway's and the
    API's notifiers (publish ticket events), one per grid crew, one per sensor. Each process
    has an account of its own because with `use_username_as_clientid` two connections of one
    user kick each other off."""
    grids = [g.id for c in site.communities for g in c.grids]
    return [
        options.gateway_user,
        *options.worker_users,
        options.notifier_user,
        options.api_user,
        *((options.simulator_user,) if options.simulator_user else ()),
        *((options.admin_user,) if options.dynamic_security else ()),
        *(crew_user(g) for g in grids),
        *(s.id for s in site.sensors),
    ]


def check_options(site: Site, options: BrokerOptions) -> None:
    """Refuse options that would weaken the ACL or produce a config Mosquitto cannot read."""
    if not 0 <= options.gateway_workers <= MAX_WORKERS:
        raise BrokerConfigError(f"gateway workers must be 0-{MAX_WORKERS}")
    for role, name in (
        ("gateway", options.gateway_user),
        ("notifier", options.notifier_user),
        ("API", options.api_user),
        ("dynamic-security admin", options.admin_user),
    ):
        if not USER_PATTERN.match(name):
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
    try:
        topics.check_prefix(options.prefix)
    except ValueError as e:
        raise BrokerConfigError(str(e)) from None
    for port in (options.port, *((options.tls.port,) if options.tls else ())):
        if not 1 <= port <= 65_535:
            raise BrokerConfigError(f"port {port} is outside 1-65535")
    if options.tls is not None and options.tls.port == options.port:
        raise BrokerConfigError("the TLS listener needs a port other than the plain one")
    if options.max_packet_size < 1024:
        raise BrokerConfigError("max_packet_size below 1024 bytes would refuse ordinary readings")
    if options.run_as is not None and not USER_PATTERN.match(options.run_as):
        raise BrokerConfigError(f"run-as user {options.run_as!r} is not an account name")
    if options.dynamic_security and not options.dynsec_plugin.is_file():
        raise BrokerConfigError(
            f"the dynamic-security plugin is not at {options.dynsec_plugin} (Debian: apt-get "
            "install mosquitto); name it with --dynsec-plugin"
        )
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
        "gateway_workers": [
            {"username": u, "password": passwords[u]} for u in options.worker_users
        ],
        "notifier": {
            "username": options.notifier_user,
            "password": passwords[options.notifier_user],
        },
        "api": {"username": options.api_user, "password": passwords[options.api_user]},
        **(
            {
                "admin": {
                    "username": options.admin_user,
                    "password": passwords[options.admin_user],
                }
            }
            if options.dynamic_security
            else {}
        ),
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
        document.get("api"),
        document.get("simulator"),
        document.get("admin"),
    ]
    workers = document.get("gateway_workers")
    if isinstance(workers, list):
        entries += workers
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
