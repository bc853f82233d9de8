"""The command channel of Mosquitto's dynamic-security plugin: JSON commands published to
`$CONTROL/dynamic-security/v1` with the admin login, each answer taken from `.../response` by
the `correlationData` the command carried. `gridwatch.broker.dynsec.DynsecAdmin` adds the
device operations to it; this module knows only the plugin's envelope and one connection.

One connection per channel, opened on first use and again after it is lost; the client id is
the admin user name (the shipped broker makes it so anyway), so one process holds the admin
login at a time. Passwords travel only inside the commands (use TLS to a remote broker) and are
never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiomqtt

from gridwatch.broker.dynconfig import CONTROL_TOPIC, RESPONSE_TOPIC
from services.registry.logins import LoginError

log = logging.getLogger(__name__)


class DynsecError(LoginError):
    """A dynamic-security operation did not happen (the registry's `LoginError`)."""


class DynsecUnavailable(DynsecError):
    """The broker could not be reached, refused the admin login, or did not answer in time."""


class DynsecRefused(DynsecError):
    """The plugin answered a command with an error (`command`, `reason` as it said)."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"{command}: {reason}")
        self.command = command
        self.reason = reason


class UnknownLogin(DynsecRefused):
    """No broker login of that name (never provisioned, or deleted)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One command's answer: `data` when it succeeded, else `error`."""

    command: str
    error: str | None
    data: Mapping[str, Any]


class DynsecChannel:
    """One admin connection to the plugin: `execute(*commands)` answers in order."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        timeout_s: float = 5.0,
        tls: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.timeout_s = timeout_s
        self.tls = tls
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[str, asyncio.Future[Answer]] = {}
        self._connect_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.username}@{self.host}:{self.port})"

    # -- connection -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self._connected()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._drop()
        self._fail_waiting(DynsecUnavailable("the dynamic-security client was closed"))

    async def _connected(self) -> aiomqtt.Client:
        async with self._connect_lock:
            if self._client is not None and self._reader is not None and not self._reader.done():
                return self._client
            await self._drop()
            client = aiomqtt.Client(
                self.host,
                self.port,
                username=self.username,
                password=self._password,
                identifier=self.username,
                protocol=aiomqtt.ProtocolVersion.V5,
                timeout=self.timeout_s,
                tls_params=aiomqtt.TLSParameters() if self.tls else None,
            )
            try:
                await client.__aenter__()
                await client.subscribe(RESPONSE_TOPIC, qos=1)
            except aiomqtt.MqttError as e:
                with contextlib.suppress(aiomqtt.MqttError):
                    await client.__aexit__(None, None, None)
                raise DynsecUnavailable(
                    f"dynamic-security admin {self.username}@{self.host}:{self.port}: {e}"
                ) from None
            self._client = client
            self._reader = asyncio.create_task(self._read(client), name="dynsec-responses")
            return client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def _read(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                self._dispatch(message.payload)
        except aiomqtt.MqttError as e:
            log.warning("dynamic-security admin connection lost: %s", e)
        finally:
            self._fail_waiting(DynsecUnavailable("the connection to the broker was lost"))

    def _dispatch(self, payload: Any) -> None:
        try:
            doc = json.loads(bytes(payload))
            responses = doc["responses"]
        except (TypeError, ValueError, KeyError):
            log.warning("dynamic-security: an answer that is not the plugin's JSON was ignored")
            return
        for r in responses if isinstance(responses, list) else ():
            if not isinstance(r, dict):
                continue
            future = self._waiting.pop(str(r.get("correlationData")), None)
            if future is None or future.done():
                continue
            error = r.get("error")
            data = r.get("data")
            future.set_result(
                Answer(
                    command=str(r.get("command", "")),
                    error=str(error) if error is not None else None,
                    data=data if isinstance(data, dict) else {},
                )
            )

    def _fail_waiting(self, error: DynsecError) -> None:
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(error)

    # -- commands ---------------------------------------------------------------------------

    async def execute(self, *commands: Mapping[str, Any]) -> list[Answer]:
        """Send `commands` in one message and return their answers in order. Raises
        DynsecUnavailable when the broker is unreachable or an answer does not come within
        the timeout (the commands may or may not have been applied)."""
        client = await self._connected()
        loop = asyncio.get_running_loop()
        ids = [uuid.uuid4().hex for _ in commands]
        futures = [loop.create_future() for _ in commands]
        for i, f in zip(ids, futures, strict=True):
            self._waiting[i] = f
        body = {
            "commands": [{**c, "correlationData": i} for c, i in zip(commands, ids, strict=True)]
        }
        try:
            async with asyncio.timeout(self.timeout_s):
                await client.publish(CONTROL_TOPIC, json.dumps(body).encode("utf-8"), qos=1)
                return list(await asyncio.gather(*futures))
        except TimeoutError:
            names = ", ".join(str(c.get("command")) for c in commands)
            raise DynsecUnavailable(
                f"the broker did not answer {names} within {self.timeout_s:g} s "
                "(is the dynamic-security plugin loaded?)"
            ) from None
        except aiomqtt.MqttError as e:
            await self._drop()
            raise DynsecUnavailable(f"dynamic-security command not sent: {e}") from None
        finally:
            for i in ids:
                self._waiting.pop(i, None)
