"""A small asyncio TCP proxy that plays the network between the gateway and the broker, so a
test can cut it: `drop()` resets every connection and refuses new ones, `blackhole()` keeps
connections open but silently discards every byte both ways (a partition neither side can
see until its keepalive fires), `restore()` forwards again.

    async with TcpProxy(broker.host, broker.port) as proxy:   # listens on proxy.port
        ...; proxy.blackhole(); ...; proxy.restore()
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from types import TracebackType


class Mode(enum.Enum):
    FORWARD = "forward"
    DROP = "drop"
    BLACKHOLE = "blackhole"


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `upstream_host`:`upstream_port` until told otherwise."""

    def __init__(self, upstream_host: str, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = host
        self.port = 0
        self.mode = Mode.FORWARD
        self.accepted = 0
        """Client connections accepted so far (a reconnect shows up here)."""
        self.discarded_bytes = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
        self._close_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # -- faults -------------------------------------------------------------------------------
    def drop(self) -> None:
        """Close every open connection and refuse new ones until `restore()`."""
        self.mode = Mode.DROP
        self._close_all()

    def blackhole(self) -> None:
        """Keep connections up but let nothing through, in either direction."""
        self.mode = Mode.BLACKHOLE

    def restore(self) -> None:
        """Forward again. Connections that lived through a blackhole are closed, as a real
        network would have timed them out: data lost in the hole must never resurface."""
        if self.mode is Mode.BLACKHOLE:
            self._close_all()
        self.mode = Mode.FORWARD

    # -- plumbing -----------------------------------------------------------------------------
    def _close_all(self) -> None:
        for w in list(self._writers):
            with contextlib.suppress(Exception):
                transport = w.transport
                transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is Mode.DROP:
            writer.transport.abort()
            return
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        for p in pumps:
            self._tasks.add(p)
            p.add_done_callback(self._tasks.discard)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.transport.abort()
        for p in pumps:
            p.cancel()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await src.read(65_536):
                if self.mode is Mode.FORWARD:
                    dst.write(data)
                    await dst.drain()
                else:
                    self.discarded_bytes += len(data)
