"""What Mosquitto's dynamic-security plugin holds for a site: the roles (one per device, one per
kind of hub process), their ACLs, and the plugin's initial JSON file.

The same ACL lists serve the file written before the broker starts (`dynsec_document`) and the
commands the hub sends to a running broker (`gridwatch.broker.dynsec`), so a device provisioned
live gets exactly the grant one bootstrapped from the site has — and the grant the static ACL
(`texts.acl_text`) gives: publish on its own telemetry and status topics, with its own kind in
them, and nothing else.

Default access denies everything that no role grants, receiving included: the plugin's own
default lets any client receive any message it managed to subscribe to.

Shared subscriptions (tried on Mosquitto 2.0.11, tests/integration/test_dynsec.py): the plugin
checks a SUBSCRIBE against the whole `$share/<group>/<filter>`, and each delivered message
against its real topic with `publishClientReceive`. So a worker's role grants the subscription
on its `$share/gridwatch/...` filters only — the plain filters, or another group, are refused,
so no worker can take every reading for itself — and receiving on the device topics behind
them: a `$share` grant without that delivers nothing (the lesson of the static ACL, where the
read grant is on the real topics too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import topics
from domain.site import Site
from gateway.worker import SHARE_GROUP
from gridwatch.broker.accounts import crew_user
from gridwatch.broker.model import BrokerOptions
from gridwatch.broker.passwords import dynsec_hash, verify_dynsec

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"

ROLE_ADMIN = "gridwatch-admin"
ROLE_GATEWAY = "gridwatch-gateway"
ROLE_WORKER = "gridwatch-gateway-worker"
ROLE_TICKETS = "gridwatch-ticket-writer"
ROLE_SIMULATOR = "gridwatch-simulator"
DEVICE_ROLE_PREFIX = "device-"
CREW_ROLE_PREFIX = "crew-"

SEND = "publishClientSend"
RECEIVE = "publishClientReceive"
SUBSCRIBE = "subscribePattern"

DEFAULT_ACCESS: dict[str, bool] = {
    "publishClientSend": False,
    "publishClientReceive": False,
    "subscribe": False,
    "unsubscribe": True,
}
"""Nothing is allowed that a role does not grant (unsubscribing is harmless)."""

Acl = dict[str, Any]


def acl(acltype: str, topic: str, allow: bool = True) -> Acl:
    return {"acltype": acltype, "topic": topic, "allow": allow}


def _read(topic: str) -> list[Acl]:
    return [acl(SUBSCRIBE, topic), acl(RECEIVE, topic)]


def device_role(sensor_id: str) -> str:
    return f"{DEVICE_ROLE_PREFIX}{sensor_id}"


def device_acls(kind: str, sensor_id: str, prefix: str) -> list[Acl]:
    """A device may publish its own telemetry and status, under its own kind; nothing else."""
    return [
        acl(SEND, topics.telemetry(kind, sensor_id, prefix)),
        acl(SEND, topics.status(kind, sensor_id, prefix)),
    ]


def gateway_acls(prefix: str) -> list[Acl]:
    """The single-process gateway: reads every device topic and the broker's `$SYS` counters,
    writes ticket events (as the static ACL's `gridwatch-gateway`)."""
    return [
        *_read(f"{prefix}/#"),
        *_read("$SYS/broker/#"),
        acl(SEND, f"{topics.TICKETS_PREFIX}/#"),
    ]


def worker_acls(prefix: str, group: str = SHARE_GROUP) -> list[Acl]:
    """A gateway worker: its shared subscriptions, receiving the device topics they deliver,
    the dropped-messages counter; it writes nothing."""
    out: list[Acl] = []
    for f in topics.subscriptions(prefix):
        out += [acl(SUBSCRIBE, f"$share/{group}/{f}"), acl(RECEIVE, f)]
    return [*out, *_read("$SYS/broker/publish/messages/dropped")]


def ticket_writer_acls() -> list[Acl]:
    """The notifiers (the gateway's rules, the API): they write ticket events only."""
    return [acl(SEND, f"{topics.TICKETS_PREFIX}/#")]


def admin_acls() -> list[Acl]:
    """The provisioning client: the plugin's command topic and its answers, nothing else."""
    return [acl(SEND, CONTROL_TOPIC), *_read(RESPONSE_TOPIC)]


def crew_role(grid_id: str) -> str:
    return f"{CREW_ROLE_PREFIX}{grid_id}"


def crew_acls(grid_id: str) -> list[Acl]:
    """A grid's crew app reads its own grid's ticket events (it subscribes to that topic; a
    wider filter is refused here, where the static ACL filtered it at delivery)."""
    return _read(topics.tickets(grid_id))


def simulator_acls(site: Site, prefix: str) -> list[Acl]:
    """Local demo only: publish as every device of the site."""
    return [a for s in site.sensors for a in device_acls(s.kind, s.id, prefix)]


def _role(name: str, acls: list[Acl]) -> dict[str, Any]:
    return {"rolename": name, "acls": acls}


def site_roles(site: Site, options: BrokerOptions) -> list[dict[str, Any]]:
    """Every role a site's broker needs, by the options' prefix."""
    p = options.prefix
    roles = [
        _role(ROLE_ADMIN, admin_acls()),
        _role(ROLE_GATEWAY, gateway_acls(p)),
        _role(ROLE_WORKER, worker_acls(p)),
        _role(ROLE_TICKETS, ticket_writer_acls()),
    ]
    if options.simulator_user:
        roles.append(_role(ROLE_SIMULATOR, simulator_acls(site, p)))
    roles += [_role(crew_role(g.id), crew_acls(g.id)) for c in site.communities for g in c.grids]
    roles += [_role(device_role(s.id), device_acls(s.kind, s.id, p)) for s in site.sensors]
    return roles


def site_clients(site: Site, options: BrokerOptions) -> dict[str, str]:
    """user name -> its one role, for every account of the site."""
    out = {
        options.admin_user: ROLE_ADMIN,
        options.gateway_user: ROLE_GATEWAY,
        **dict.fromkeys(options.worker_users, ROLE_WORKER),
        options.notifier_user: ROLE_TICKETS,
        options.api_user: ROLE_TICKETS,
    }
    if options.simulator_user:
        out[options.simulator_user] = ROLE_SIMULATOR
    for c in site.communities:
        for g in c.grids:
            out[crew_user(g.id)] = crew_role(g.id)
    for s in site.sensors:
        out[s.id] = device_role(s.id)
    return out


def dynsec_document(
    site: Site,
    options: BrokerOptions,
    passwords: Mapping[str, str],
    previous: Mapping[str, Any] | None = None,
    rotate: bool = False,
) -> dict[str, Any]:
    """The plugin's JSON file for `site`: a client per account with its role, every role,
    and default access denying the rest.

    `previous` is the file as the broker left it (the plugin rewrites it on every change):
    devices provisioned or rotated live keep their entries (hash, disabled flag) unless
    `rotate`, and clients and roles that the site does not know are kept as they are — they
    came from the hub's registry, not from the site file. The hub's own accounts always get
    the passwords in `passwords`; a hash that still matches is kept, so a re-run changes
    nothing.
    """
    clients_of = site_clients(site, options)
    device_ids = {s.id for s in site.sensors}
    old_clients: dict[str, Mapping[str, Any]] = {}
    old_roles: dict[str, Mapping[str, Any]] = {}
    if previous is not None:
        for c in previous.get("clients") or []:
            if isinstance(c, Mapping) and isinstance(c.get("username"), str):
                old_clients[c["username"]] = c
        for r in previous.get("roles") or []:
            if isinstance(r, Mapping) and isinstance(r.get("rolename"), str):
                old_roles[r["rolename"]] = r

    clients: list[dict[str, Any]] = []
    for user, role in clients_of.items():
        old = old_clients.get(user)
        if old is not None and not rotate and user in device_ids and "password" in old:
            entry = dict(old)  # the broker's: it may have been rotated or disabled live
        else:
            pw = passwords[user]
            hashed: Mapping[str, Any] = (
                old
                if old is not None and not rotate and verify_dynsec(old, pw)
                else dynsec_hash(pw)
            )
            entry = {
                "username": user,
                "password": hashed["password"],
                "salt": hashed["salt"],
                "iterations": hashed["iterations"],
            }
            if old is not None and old.get("disabled") is True and user in device_ids:
                entry["disabled"] = True
        entry["roles"] = [{"rolename": role}]
        clients.append(entry)
    clients += [dict(c) for u, c in old_clients.items() if u not in clients_of]

    roles = site_roles(site, options)
    made = {r["rolename"] for r in roles}
    roles += [dict(r) for n, r in old_roles.items() if n not in made]
    return {
        "defaultACLAccess": dict(DEFAULT_ACCESS),
        "clients": sorted(clients, key=lambda c: str(c["username"])),
        "groups": list(previous.get("groups") or []) if previous is not None else [],
        "roles": sorted(roles, key=lambda r: str(r["rolename"])),
    }
