"""Device logins changed on a running Mosquitto, through its dynamic-security plugin (issue 13,
contract §7): `DynsecAdmin` publishes the plugin's JSON commands to `$CONTROL/dynamic-security/v1`
with the admin login and awaits each answer on `.../response`, matched by the `correlationData`
it put in the command.

    async with DynsecAdmin(host, port, "gridwatch-admin", password, prefix="sensors") as admin:
        creds = await admin.provision(sensor)      # a new login: publish on its own topics only
        creds = await admin.rotate("pond-qp-01")   # a new password; the old one is refused
        await admin.disable("pond-qp-01")          # retired: refused, and thrown off if connected

Every change is live: the plugin applies it to the next CONNECT (and throws off the sessions of a
client whose password, role or state changed), and saves it in its own file — no restart, no
reload signal. A device's grant is `dynconfig.device_acls`, the one the bootstrap file and the
static ACL give.

`DynsecAdmin` extends `gridwatch.broker.dynsecchannel.DynsecChannel`, the connection and the
plugin's envelope; passwords travel only inside the commands and are never logged. `DynsecAdmin`
is the registry's `DeviceLogins` (services/registry/logins.py); its errors are the registry's
`LoginError`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from domain import topics
from domain.ids import ID_PATTERN
from gridwatch.broker.dynconfig import (
    ROLE_GATEWAY,
    ROLE_WORKER,
    device_acls,
    device_role,
    gateway_acls,
    worker_acls,
)
from gridwatch.broker.dynsecchannel import (
    Answer,
    DynsecChannel,
    DynsecError,
    DynsecRefused,
    UnknownLogin,
)
from gridwatch.broker.model import CREW_PREFIX
from gridwatch.broker.passwords import new_password
from services.registry.logins import Credentials

log = logging.getLogger(__name__)

_DEVICE_ID = re.compile(ID_PATTERN)
RESERVED_PREFIXES = ("gridwatch-", CREW_PREFIX)
"""Names of the hub's own accounts (gateway, workers, notifiers, admin) and the crews'."""
NOT_FOUND = {"Client not found", "Role not found"}
ALREADY = {"Client already exists", "Role already exists", "Client is already in this role"}


class ReservedLogin(DynsecError):
    """The name is one of the hub's own accounts, or not a sensor id: it cannot be a device."""


class DeviceRef(Protocol):
    """What provisioning needs of a sensor (`domain.site.Sensor` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...


class DynsecAdmin(DynsecChannel):
    """The hub's provisioning client of one broker (see the module docstring): the plugin's
    command channel, with the device operations on top."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        prefix: str = topics.DEFAULT_PREFIX,
        timeout_s: float = 5.0,
        reserved: Sequence[str] = (),
        tls: bool = False,
    ) -> None:
        super().__init__(host, port, username, password, timeout_s=timeout_s, tls=tls)
        self.prefix = topics.check_prefix(prefix)
        self.reserved = frozenset((username, *reserved))

    async def _one(self, command: Mapping[str, Any]) -> Answer:
        (answer,) = await self.execute(command)
        return answer

    @staticmethod
    def _raise(answer: Answer, username: str) -> None:
        if answer.error is None:
            return
        if answer.error in NOT_FOUND:
            raise UnknownLogin(answer.command, f"{answer.error} ({username})")
        raise DynsecRefused(answer.command, answer.error)

    def _check_device(self, sensor_id: str) -> None:
        if (
            sensor_id in self.reserved
            or sensor_id.startswith(RESERVED_PREFIXES)
            or not _DEVICE_ID.match(sensor_id)
        ):
            raise ReservedLogin(f"{sensor_id!r} cannot be a device login")

    # -- the operations the registry needs (services' DeviceLogins) --------------------------

    async def provision(self, sensor: DeviceRef) -> Credentials:
        """A login for `sensor` with a new random password and a role that lets it publish
        only its own telemetry and status, under its own kind. Provisioning an existing login
        again (a sensor re-created, or its kind changed) replaces its password and grant and
        enables it."""
        self._check_device(sensor.id)
        password = new_password()
        role = device_role(sensor.id)
        acls = device_acls(sensor.kind, sensor.id, self.prefix)
        made_role, made_client = await self.execute(
            {"command": "createRole", "rolename": role, "acls": acls},
            {
                "command": "createClient",
                "username": sensor.id,
                "password": password,
                "roles": [{"rolename": role}],
            },
        )
        again: list[Mapping[str, Any]] = []
        if made_role.error in ALREADY:
            again.append({"command": "modifyRole", "rolename": role, "acls": acls})
        else:
            self._raise(made_role, sensor.id)
        if made_client.error in ALREADY:
            # modifyClient sets password and roles at once (2.0.11 answers addClientRole for
            # a role the client already has with "Internal error").
            again += [
                {
                    "command": "modifyClient",
                    "username": sensor.id,
                    "password": password,
                    "roles": [{"rolename": role}],
                },
                {"command": "enableClient", "username": sensor.id},
            ]
        else:
            self._raise(made_client, sensor.id)
        for answer in await self.execute(*again) if again else []:
            if answer.error not in ALREADY:
                self._raise(answer, sensor.id)
        log.info("broker login of sensor %s provisioned (dynamic security)", sensor.id)
        return Credentials(sensor.id, password)

    async def rotate(self, sensor_id: str) -> Credentials:
        """A new password for an existing login; the old one is refused from the next CONNECT
        on, and the plugin throws off a session opened with it."""
        self._check_device(sensor_id)
        password = new_password()
        self._raise(
            await self._one(
                {"command": "setClientPassword", "username": sensor_id, "password": password}
            ),
            sensor_id,
        )
        log.info("broker password of sensor %s rotated (dynamic security)", sensor_id)
        return Credentials(sensor_id, password)

    async def disable(self, sensor_id: str) -> None:
        """The login stops working and its sessions are thrown off (a retired sensor);
        idempotent, and no error when there is no such login (nothing to refuse)."""
        self._check_device(sensor_id)
        answer = await self._one({"command": "disableClient", "username": sensor_id})
        if answer.error in NOT_FOUND:
            log.info("sensor %s has no broker login to disable", sensor_id)
            return
        self._raise(answer, sensor_id)
        log.info("broker login of sensor %s disabled (dynamic security)", sensor_id)

    async def enable(self, sensor_id: str) -> None:
        self._check_device(sensor_id)
        self._raise(await self._one({"command": "enableClient", "username": sensor_id}), sensor_id)

    async def client(self, username: str) -> Mapping[str, Any]:
        """The plugin's view of a login (`getClient`: roles, `disabled`; never a password)."""
        answer = await self._one({"command": "getClient", "username": username})
        self._raise(answer, username)
        found = answer.data.get("client")
        return found if isinstance(found, dict) else {}

    async def ensure_gateway_roles(self, workers: Sequence[str] = (), gateway: str = "") -> None:
        """The gateway's roles exist with every ACL they need, and `workers` (and `gateway`)
        hold them. Only what is missing is added: changing a role throws its clients off."""
        wanted = {ROLE_GATEWAY: gateway_acls(self.prefix), ROLE_WORKER: worker_acls(self.prefix)}
        found = await self.execute(
            *({"command": "getRole", "rolename": r} for r in wanted),
        )
        changes: list[Mapping[str, Any]] = []
        for (role, acls), answer in zip(wanted.items(), found, strict=True):
            if answer.error in NOT_FOUND:
                changes.append({"command": "createRole", "rolename": role, "acls": acls})
                continue
            self._raise(answer, role)
            data = answer.data.get("role")
            have = {
                (a.get("acltype"), a.get("topic"), a.get("allow"))
                for a in (data.get("acls") or [] if isinstance(data, dict) else [])
                if isinstance(a, dict)
            }
            changes += [
                {"command": "addRoleACL", "rolename": role, **a}
                for a in acls
                if (a["acltype"], a["topic"], a["allow"]) not in have
            ]
        members = [(w, ROLE_WORKER) for w in workers]
        if gateway:
            members.append((gateway, ROLE_GATEWAY))
        held = (
            await self.execute(*({"command": "getClient", "username": u} for u, _ in members))
            if members
            else []
        )
        for (user, role), answer in zip(members, held, strict=True):
            self._raise(answer, user)
            data = answer.data.get("client")
            roles = data.get("roles") or [] if isinstance(data, dict) else []
            if not any(isinstance(r, dict) and r.get("rolename") == role for r in roles):
                changes.append({"command": "addClientRole", "username": user, "rolename": role})
        for answer in await self.execute(*changes) if changes else []:
            if answer.error not in ALREADY:
                self._raise(answer, answer.command)
